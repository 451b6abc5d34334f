#!/usr/bin/env bash
# Re-runs every benchmark (about 20 minutes on a 2-vCPU machine):
#  1. meshbench pinned (every process on CPU 0) and unpinned: Mesh against
#     bare CAF and against raw TCP ping-pong (tcp_echo), same run, same
#     settings; remote dispatch against ZeroMQ (zmq_echo), Erlang/OTP
#     (erl_echo.erl; `install-deps.sh --bench` installs Erlang) and a bare
#     gRPC server as well;
#     plus the scale scenario (16 nodes from one seed: time to a
#     full mesh, idle CPU of the cluster over 10 s, memory of each node);
#     results in build/bench-results/.
#  2. the gRPC front door against a bare gRPC server (scripts/bench-grpc.sh,
#     pinned and unpinned).
#  3. the micro benchmarks (Google Benchmark).
# Extra arguments go to both meshbench runs (e.g. --repeat 5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --bench
"$root/scripts/build.sh" >&2
bin=${MESH_BUILD_DIR:-$root/build}/bin
out=${MESH_BUILD_DIR:-$root/build}/bench-results
mkdir -p "$out"
common=(--warmup-ms 500 --duration-ms 2000 --repeat 3 --idle-ms 3000
        --scale-nodes 16 --scale-idle-ms 10000)

echo "== meshbench, pinned to CPU 0 (taskset -c 0 for every process)"
"$bin/meshbench" --pin "${common[@]}" --json "$out/meshbench-pinned.json" "$@"
echo
echo "== meshbench, unpinned"
"$bin/meshbench" "${common[@]}" --json "$out/meshbench-unpinned.json" "$@"
echo
echo "== gRPC front door, pinned to CPU 0, then unpinned"
"$root/scripts/bench-grpc.sh" --pin
"$root/scripts/bench-grpc.sh"
echo
echo "== micro benchmarks"
"$bin/mesh_micro_bench" --benchmark_min_time=0.3 \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json
echo
echo "results: $out"
