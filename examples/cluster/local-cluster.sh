#!/usr/bin/env bash
# Starts a local 3-node Mesh cluster on 127.0.0.1 and stops it on Ctrl-C.
#
#   node-a  listen 7520  console 7530  serves users, orders
#   node-b  listen 7521  console 7531  serves orders, inventory   seed: node-a
#   node-c  listen 7522  console 7532  serves users, echo         seed: node-a
#
# Every node loads the example handlers; --namespaces decides what each
# serves. Try, in another terminal:
#   build/bin/meshctl --node 127.0.0.1:7530 peers
#   build/bin/meshctl --node 127.0.0.1:7531 dispatch users UserService GetUser --payload '{"id":"u-1"}'
#   build/bin/meshctl --node 127.0.0.1:7532 dispatch orders OrderService GetOrder --payload '{"id":"o-1"}'
# (node-c does not serve orders, so it answers not_found: shared namespaces
# decide what routes between two nodes.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MESH_BUILD_DIR:-$root/build}/bin
[ -x "$bin/meshnode" ] || "$root/scripts/build.sh" >&2

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start() { # id listen console namespaces [seed]
  local args=(--id "$1" --listen "127.0.0.1:$2" --console "127.0.0.1:$3"
              --namespaces "$4" --log-level warn)
  [ $# -ge 5 ] && args+=(--seeds "127.0.0.1:$5")
  "$bin/meshnode" "${args[@]}" &
  pids+=($!)
}

start node-a 7520 7530 users,orders
start node-b 7521 7531 orders,inventory 7520
start node-c 7522 7532 users,echo 7520
echo "3 nodes running (consoles 7530, 7531, 7532); Ctrl-C stops them" >&2
wait
