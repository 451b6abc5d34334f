#!/usr/bin/env bash
# The gRPC front door's benchmark (issue 17, section 5): a gRPC client
# dispatching through a node's front door to a handler on the same node and
# on another node, beside a bare gRPC C++ echo server, in one run.
#
#   scripts/bench-grpc.sh [--pin] [grpc_bench options...]
#
# Starts, on 127.0.0.1 with ports chosen by the system:
#   node B  the example plug-in, serves `echo` (echo/EchoService/Echo)
#   node A  the bench plug-in, declares `echo` but has no echo handler, joined
#           to B: its echo requests run on B
#   grpc_echo_server, the bare gRPC baseline
# then runs grpc_bench (bench/grpc/grpc_bench.cpp) with the targets
#   bare   -> grpc_echo_server
#   local  -> B's gRPC port: B's router -> B's echo handler
#   remote -> A's gRPC port: A's router -> (CAF, network) -> B's echo handler
# and prints a table whose ratios are to bare gRPC; the JSON lands in
# build/bench-results/grpc-<time>.json. --pin runs every process on CPU 0
# (taskset), as meshbench --pin does. Everything started is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
pin=()
if [ "${1:-}" = "--pin" ]; then
  pin=(taskset -c 0)
  shift
fi

for t in meshnode grpc_echo_server grpc_bench libmesh_example_handlers.so \
         libmesh_bench_plugin.so; do
  if [ ! -e "$bin/$t" ]; then
    ninja -C "$root/build" meshnode grpc_echo_server grpc_bench \
      mesh_example_handlers mesh_bench_plugin >&2
    break
  fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/mesh-bench-grpc-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "bench-grpc: $*" >&2
  for log in "$dir"/*.log; do
    [ -s "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}

# Starts a program in the background (in this shell, so `pids` keeps it for
# cleanup); waits for its JSON ready line, left in $dir/NAME.ready.
start() { # name program args...
  local name=$1 line=""
  shift
  : >"$dir/$name.ready"
  "${pin[@]}" "$@" </dev/null >"$dir/$name.ready" 2>"$dir/$name.log" &
  pids+=($!)
  for _ in $(seq 300); do
    line=$(head -n 1 "$dir/$name.ready" || true)
    [ -n "$line" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited before it was ready"
    sleep 0.1
  done
  [ -n "$line" ] || fail "$name was not ready within 30 s"
}
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }

node_args=(--listen 127.0.0.1:0 --console 127.0.0.1:0 --http 127.0.0.1:0
           --grpc 127.0.0.1:0 --log-level warn)
start node-b "$bin/meshnode" --id grpc-bench-b --namespaces echo \
  --plugin "$bin/libmesh_example_handlers.so" --data-dir "$dir/b-data" \
  "${node_args[@]}"
ready_b=$(head -n 1 "$dir/node-b.ready")
start node-a "$bin/meshnode" --id grpc-bench-a --namespaces bench,echo \
  --plugin "$bin/libmesh_bench_plugin.so" --data-dir "$dir/a-data" \
  --seeds "$(field listen "$ready_b")" "${node_args[@]}"
ready_a=$(head -n 1 "$dir/node-a.ready")
start echo "$bin/grpc_echo_server"
ready_e=$(head -n 1 "$dir/echo.ready")
grpc_a=$(field grpc "$ready_a")
grpc_b=$(field grpc "$ready_b")
[ -n "$grpc_a" ] && [ -n "$grpc_b" ] || fail "a node has no gRPC address"

# A must see B up before its echo requests can run there.
http_a=$(field http "$ready_a")
for _ in $(seq 300); do
  curl -s --max-time 2 "http://$http_a/v1/peers" | grep -q '"state":"up"' && break
  sleep 0.1
done
curl -s --max-time 2 "http://$http_a/v1/peers" | grep -q '"state":"up"' \
  || fail "node A does not see node B up"

mkdir -p "$root/build/bench-results"
out="$root/build/bench-results/grpc-$(date -u +%Y%m%dT%H%M%SZ).json"
echo "bench-grpc: bare $(field grpc "$ready_e"), local $grpc_b (B), remote $grpc_a (A -> B)${pin:+, pinned to CPU 0}" >&2
"${pin[@]}" "$bin/grpc_bench" --target "bare=$(field grpc "$ready_e")" \
  --target "local=$grpc_b" --target "remote=$grpc_a" --json "$out" "$@"
echo "bench-grpc: results in $out" >&2
