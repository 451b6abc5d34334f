#!/usr/bin/env bash
# A local 3-node Mesh cluster on 127.0.0.1, on free ports.
#
#   local-cluster.sh          start it, wait until every node sees the two
#                             others up, print their addresses; Ctrl-C stops it
#   local-cluster.sh start    the same, in the background: exits once it is up
#   local-cluster.sh stop     stops a cluster started with `start`
#
#   node-a  serves users, orders
#   node-b  serves orders, inventory   seed: node-a
#   node-c  serves users, echo         seed: node-a
#
# Every node loads the example handlers; --namespaces decides what each
# serves. The ports are chosen by the system (port 0): each node's ready line
# says which it got, and this script prints them. Try, with the HTTP
# addresses it prints:
#   curl -s http://HTTP_OF_A/v1/peers
#   curl -s -X POST http://HTTP_OF_B/v1/dispatch \
#     --json '{"namespace":"users","service":"UserService","method":"GetUser","payload":{"id":"u-1"}}'
#   build/bin/meshctl --node HTTP_OF_C peers
# (node-c does not serve orders, so an orders request there answers
# not_found: shared namespaces decide what routes between two nodes.)
#
# Environment: MESH_BUILD_DIR (default: <repo>/build), MESH_CLUSTER_DIR (the
# folder for the nodes' logs, data and pids; default: a folder under
# ${TMPDIR:-/tmp} named after the user), MESH_NODE_ARGS (more flags for every
# node), MESH_READY_TIMEOUT (seconds to wait for the cluster, default 30).
# Exit codes: 0 the cluster is up (or stopped), 1 a node failed to start or
# the nodes did not see each other in time (its log is printed, every node
# is stopped), 2 usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MESH_BUILD_DIR:-$root/build}/bin
dir=${MESH_CLUSTER_DIR:-${TMPDIR:-/tmp}/mesh-local-cluster-$(id -un)}
timeout_s=${MESH_READY_TIMEOUT:-30}
nodes=(node-a node-b node-c)
declare -A namespaces=([node-a]="users,orders" [node-b]="orders,inventory"
                       [node-c]="users,echo")
declare -A http listen

say() { echo "local-cluster: $*" >&2; }

# Whether process $1 runs (a zombie nobody reaped yet does not).
alive() {
  kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Stops every node whose pid file is in $dir, then removes $dir.
stop_all() {
  [ -d "$dir" ] || return 0
  local pids=() p
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null && pids+=("$p")
  done
  # SIGTERM drains; whatever is still running after 10 s is killed.
  for _ in $(seq 100); do
    local running=0
    for p in "${pids[@]}"; do alive "$p" && running=1; done
    [ $running = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}

# Prints a node's log and stops the cluster: the start failed.
fail() { # node message
  say "$2"
  if [ -s "$dir/$1.log" ]; then
    say "log of $1 ($dir/$1.log):"
    tail -n 40 "$dir/$1.log" >&2
  fi
  stop_all
  exit 1
}

# Starts one node in the background; waits for its ready line.
start_node() { # id [seed]
  local id=$1 args
  args=(--id "$id" --listen 127.0.0.1:0 --console 127.0.0.1:0
        --http 127.0.0.1:0 --namespaces "${namespaces[$id]}"
        --data-dir "$dir/$id-data" --log-level "${MESH_LOG_LEVEL:-warn}")
  [ $# -ge 2 ] && args+=(--seeds "$2")
  # shellcheck disable=SC2206 # MESH_NODE_ARGS is a list of flags
  args+=(${MESH_NODE_ARGS:-})
: >"$dir/$id.ready" # there before the node writes to it: read at once
  "$bin/meshnode" "${args[@]}" </dev/null >"$dir/$id.ready" 2>"$dir/$id.log" &
  echo $! >"$dir/$id.pid"
  local line=""
  for _ in $(seq $((timeout_s * 10))); do
    line=$(head -n 1 "$dir/$id.ready" || true)
    [ -n "$line" ] && break
    alive "$(cat "$dir/$id.pid")" \
      || fail "$id" "$id exited before it was ready"
    sleep 0.1
  done
  [ -n "$line" ] || fail "$id" "$id was not ready within ${timeout_s} s"
  listen[$id]=$(sed -n 's/.*"listen":"\([^"]*\)".*/\1/p' <<<"$line")
  http[$id]=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' <<<"$line")
  [ -n "${http[$id]}" ] || fail "$id" "$id has no HTTP address: $line"
}

# How many peers the node at HTTP address $1 sees up (GET /v1/peers).
peers_up() {
  curl -s --max-time 2 "http://$1/v1/peers" | grep -o '"state":"up"' | wc -l
}

start_cluster() {
  command -v curl >/dev/null || { say "needs curl"; exit 1; }
  [ -x "$bin/meshnode" ] || "$root/scripts/build.sh" >&2
  if [ -d "$dir" ]; then
    say "$dir exists: a cluster is running (local-cluster.sh stop) or was" \
        "not stopped; remove it first"
    exit 1
  fi
  mkdir -p "$dir"
  start_node node-a
  start_node node-b "${listen[node-a]}"
  start_node node-c "${listen[node-a]}"
  # Up means every node sees the two others up, not merely running.
  local id ok=0
  for _ in $(seq $((timeout_s * 5))); do
    ok=1
    for id in "${nodes[@]}"; do
      alive "$(cat "$dir/$id.pid")" || fail "$id" "$id exited"
      [ "$(peers_up "${http[$id]}")" -ge 2 ] || ok=0
    done
    [ $ok = 1 ] && break
    sleep 0.2
  done
  if [ $ok = 0 ]; then
    for id in "${nodes[@]}"; do
      [ "$(peers_up "${http[$id]}")" -ge 2 ] \
        || fail "$id" "$id does not see the two other nodes up after ${timeout_s} s"
    done
  fi
  echo "3 nodes up (each sees the two others):"
  for id in "${nodes[@]}"; do
    echo "  $id  http ${http[$id]}  listen ${listen[$id]}  serves ${namespaces[$id]}  log $dir/$id.log"
  done
}

case "${1:-run}" in
  run)
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    start_cluster
    echo "Ctrl-C stops them"
    # Until Ctrl-C, or until a node exits on its own.
    while :; do
      for id in "${nodes[@]}"; do
        alive "$(cat "$dir/$id.pid")" || fail "$id" "$id exited"
      done
      sleep 1
    done
    ;;
  start)
    start_cluster
    echo "stop them with: $0 stop"
    ;;
  stop)
    stop_all
    ;;
  *)
    say "usage: local-cluster.sh [run|start|stop]"
    exit 2
    ;;
esac
