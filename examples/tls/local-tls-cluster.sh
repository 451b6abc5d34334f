#!/usr/bin/env bash
# Starts a local 3-node Mesh cluster with mutual TLS between the nodes, a
# cluster secret and a console token, and stops it on Ctrl-C.
#
#   tls-a  listen 7620  console 7630  http 7640
#   tls-b  listen 7621  console 7631  http 7641   seed: tls-a
#   tls-c  listen 7622  console 7632  http 7642   seed: tls-a
#
# Certificates (a CA and one per node) are made by make-certs.sh in
# $MESH_TLS_DIR (default: examples/tls/certs, reused when present). Try:
#   export MESH_TOKEN=$(cat examples/tls/certs/console-token)
#   build/bin/meshctl --node 127.0.0.1:7640 peers
#   build/bin/meshctl --node 127.0.0.1:7641 dispatch echo EchoService Echo --target tls-c --payload '{"hi":1}'
# A node with a certificate from another CA, or without TLS, cannot join.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${MESH_BUILD_DIR:-$root/build}/bin
[ -x "$bin/meshnode" ] || "$root/scripts/build.sh" >&2
certs=${MESH_TLS_DIR:-$here/certs}
[ -f "$certs/tls-c.pem" ] || "$here/make-certs.sh" "$certs" tls-a tls-b tls-c
[ -f "$certs/console-token" ] || openssl rand -hex 16 > "$certs/console-token"
[ -f "$certs/cluster-secret" ] || openssl rand -hex 16 > "$certs/cluster-secret"
chmod 600 "$certs/console-token" "$certs/cluster-secret"
export MESH_CLUSTER_SECRET; MESH_CLUSTER_SECRET=$(cat "$certs/cluster-secret")

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

start() { # id listen console http [seed]
  local args=(--id "$1" --listen "127.0.0.1:$2" --console "127.0.0.1:$3"
              --http "127.0.0.1:$4"
              --tls-certificate "$certs/$1.pem" --tls-key "$certs/$1.key"
              --tls-ca "$certs/ca.pem"
              --console-token-file "$certs/console-token" --log-level warn)
  [ $# -ge 5 ] && args+=(--seeds "127.0.0.1:$5")
  "$bin/meshnode" "${args[@]}" >/dev/null &
  pids+=($!)
}

start tls-a 7620 7630 7640
start tls-b 7621 7631 7641 7620
start tls-c 7622 7632 7642 7620
# Up means every node sees both others, asked through its HTTP API.
export MESH_TOKEN; MESH_TOKEN=$(cat "$certs/console-token")
for i in $(seq 1 100); do
  up=0
  for c in 7640 7641 7642; do
    n=$("$bin/meshctl" --node "127.0.0.1:$c" --json peers 2>/dev/null \
        | grep -c '"state": "up"' || true)
    [ "$n" = 2 ] && up=$((up + 1))
  done
  [ "$up" = 3 ] && break
  sleep 0.1
done
if [ "$up" != 3 ]; then
  echo "the TLS cluster did not come up (nodes seeing both others: $up of 3)" >&2
  exit 1
fi
echo "3 TLS nodes up (meshctl --node 127.0.0.1:7640, 7641 or 7642; token in $certs/console-token); Ctrl-C stops them" >&2
wait
