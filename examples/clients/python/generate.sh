#!/usr/bin/env bash
# Generates the Python stubs of Mesh's gRPC services into OUT_DIR (default:
# ./gen beside this script) with Debian's protoc (protobuf-compiler) and
# grpc_python_plugin (protobuf-compiler-grpc). Nothing generated is
# committed: run it after every change of the protos.
#
#   generate.sh [OUT_DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$here/gen}
plugin=${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || true)}
[ -n "$plugin" ] || {
  echo "generate.sh: grpc_python_plugin not found (apt-get install protobuf-compiler-grpc)" >&2
  exit 1
}
command -v protoc >/dev/null || {
  echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2
  exit 1
}

mkdir -p "$out"
# Both folders on the import path (mesh_service.proto imports "mesh.proto";
# protocol/grpc first, so its files are named without a folder):
# the modules land flat in OUT (collector_pb2, mesh_pb2, mesh_service_pb2,
# health_pb2 and the *_pb2_grpc service stubs; google.rpc's Status, the
# failed calls' details, as google/rpc/status_pb2). Debian's well-known types
# (google/protobuf/*.proto) are found by protoc itself; the Python runtime
# ships their modules.
protoc -I "$root/protocol/grpc" -I "$root/protocol" \
  --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$plugin" \
  "$root/protocol/mesh.proto" \
  "$root/protocol/grpc/collector.proto" \
  "$root/protocol/grpc/mesh_service.proto" \
  "$root/protocol/grpc/health.proto" \
  "$root/protocol/grpc/google/rpc/status.proto"
echo "$out"
