#!/usr/bin/env bash
# install.plugin_outside: the installed SDK is enough to build and run a
# plug-in (issue 15, section 5).
#
#   plugin_outside_test.sh BUILD_DIR SOURCE_DIR
#
# Installs BUILD_DIR into a temporary prefix (cmake --install), builds
# examples/plugin-outside from a copy outside the source tree against it
# (find_package(Mesh)), checks pkg-config, then starts the INSTALLED meshnode
# with the new plug-in and the example plug-in by bare name (found in
# <prefix>/lib/mesh/plugins) and dispatches to both through the installed
# meshctl. Every step's failure fails the test; the node and the temporary
# folders go away on any exit.
set -euo pipefail

build_dir=$(cd "${1:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd)
source_dir=$(cd "${2:?usage: $0 BUILD_DIR SOURCE_DIR}" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/mesh-install-test-XXXXXX")
node_pid=""
notify_pid=""
cleanup() {
  if [[ -n "$notify_pid" ]]; then
    kill "$notify_pid" 2>/dev/null || true
    wait "$notify_pid" 2>/dev/null || true
  fi
  if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    # A node stuck in shutdown must not hold the test: KILL after 10 s.
    for _ in $(seq 1 100); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "install.plugin_outside: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [[ -f "$log" ]] || continue
    echo "--- $(basename "$log")" >&2
    tail -n 40 "$log" >&2
  done
  exit 1
}
step() { echo "install.plugin_outside: $*"; }

prefix="$work/prefix"

step "cmake --install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || fail "cmake --install failed"
for f in bin/meshnode bin/meshctl lib/libmesh_node.so lib/libmesh_grpc.so \
         lib/mesh/plugins/libmesh_example_handlers.so \
         include/mesh/node/plugin_api.hpp include/mesh/protocol/mesh.pb.h \
         include/mesh/protocol/version.hpp \
         lib/cmake/Mesh/MeshConfig.cmake lib/cmake/Mesh/MeshConfigVersion.cmake \
         lib/cmake/Mesh/MeshTargets.cmake lib/cmake/Mesh/FindCAF.cmake \
         lib/pkgconfig/mesh.pc; do
  [[ -e "$prefix/$f" ]] || fail "the install has no $f"
done
# The installed programs must use the installed libraries, not the build's.
# (Outputs captured first: `cmd | grep -q` fails under pipefail when grep
# stops reading early.)
dynamic=$(readelf -d "$prefix/bin/meshnode")
[[ "$dynamic" != *"$build_dir"* ]] \
  || fail "installed meshnode still has the build tree in its RPATH"
libs=$(ldd "$prefix/bin/meshnode")
[[ "$libs" == *"libmesh_node.so => $prefix/bin/../lib/libmesh_node.so"* ]] \
  || fail "installed meshnode does not load $prefix/lib/libmesh_node.so: $libs"
# gRPC is opened only by a node that serves it (lib/libmesh_grpc.so).
[[ "$libs" != *"libgrpc"* ]] || fail "installed meshnode links gRPC: $libs"

step "pkg-config --cflags --libs mesh"
pc_flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs mesh 2>"$work/pkg-config.log") \
  || fail "pkg-config --cflags --libs mesh failed"
pc_include=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --variable=includedir mesh)
[[ -f "$pc_include/node/plugin_api.hpp" ]] \
  || fail "pkg-config's includedir '$pc_include' has no node/plugin_api.hpp"
[[ "$pc_flags" == *"-lmesh_node"* && "$pc_flags" == *"-I"*"include/mesh"* ]] \
  || fail "pkg-config flags lack -I.../include/mesh or -lmesh_node: $pc_flags"
# The same plug-in with nothing but those flags; --no-undefined: every symbol
# it needs must come from the libraries they name.
# shellcheck disable=SC2086 # the flags are words
c++ -std=c++17 -shared -fPIC -Wl,--no-undefined \
  "$source_dir/examples/plugin-outside/outside_handlers.cpp" \
  -o "$work/liboutside_pc.so" $pc_flags >"$work/pkg-config-build.log" 2>&1 \
  || fail "building the plug-in with pkg-config's flags failed"
# Nor do pkg-config's flags bring it into every node a plug-in goes to.
[[ " $pc_flags " != *" -lmesh_grpc "* ]] \
  || fail "pkg-config's flags link plug-ins to libmesh_grpc: $pc_flags"
symbols=$(nm -D --defined-only "$work/liboutside_pc.so")
[[ "$symbols" == *" mesh_register_handlers"* ]] \
  || fail "the pkg-config-built plug-in does not export mesh_register_handlers"

step "build examples/plugin-outside against the install"
cp -r "$source_dir/examples/plugin-outside" "$work/plugin-src"
cmake -S "$work/plugin-src" -B "$work/plugin-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  >"$work/plugin-configure.log" 2>&1 \
  || fail "configuring the outside plug-in failed"
# It must have used the installed package, not anything in the source tree.
grep -q "Mesh_DIR:PATH=$prefix/lib/cmake/Mesh" "$work/plugin-build/CMakeCache.txt" \
  || fail "find_package(Mesh) did not find $prefix/lib/cmake/Mesh"
cmake --build "$work/plugin-build" >"$work/plugin-build.log" 2>&1 \
  || fail "building the outside plug-in failed"
plugin="$work/plugin-build/liboutside_handlers.so"
[[ -f "$plugin" ]] || fail "no $plugin after the build"
# Nothing of the source or build tree on its command lines.
[[ -f "$work/plugin-build/compile_commands.json" ]] \
  || fail "the outside build wrote no compile_commands.json"
if grep -qF "$source_dir" "$work/plugin-build/compile_commands.json"; then
  fail "the outside plug-in was compiled with paths into $source_dir"
fi

# Plays systemd for Type=notify: records each datagram meshnode sends to
# $NOTIFY_SOCKET, one per line, until STOPPING=1 (or 30 s).
notify_socket="$work/notify.sock"
python3 - "$notify_socket" >"$work/notify.txt" 2>"$work/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
while True:
    msg = s.recv(4096).decode()
    print(msg, flush=True)
    if "STOPPING=1" in msg:
        break
PY
notify_pid=$!
for _ in $(seq 1 100); do
  [[ -S "$notify_socket" ]] && break
  sleep 0.1
done
[[ -S "$notify_socket" ]] || fail "the notification listener did not start"

step "start the installed meshnode with the plug-in"
# From an empty working folder: nothing may come from the current directory.
mkdir -p "$work/run"
(cd "$work/run" && NOTIFY_SOCKET="$notify_socket" exec "$prefix/bin/meshnode" \
   --plugin "$plugin" --plugin libmesh_example_handlers.so \
   --listen 127.0.0.1:0 --console 127.0.0.1:0 --http 127.0.0.1:0 \
   --grpc 127.0.0.1:0 --data-dir "$work/data" --log-level info \
   >"$work/node-stdout.log" 2>"$work/node-stderr.log") &
node_pid=$!
ready=""
for _ in $(seq 1 200); do  # up to 20 s: the ready line, or the node's exit
  ready=$(grep -m1 '"event":"ready"' "$work/node-stdout.log" || true)
  [[ -n "$ready" ]] && break
  kill -0 "$node_pid" 2>/dev/null || fail "meshnode exited before it was ready"
  sleep 0.1
done
[[ -n "$ready" ]] || fail "no ready line from meshnode within 20 s"
# READY=1 follows the ready line: wait for it (up to 5 s).
for _ in $(seq 1 50); do
  grep -qx "READY=1" "$work/notify.txt" && break
  sleep 0.1
done
grep -qx "READY=1" "$work/notify.txt" \
  || fail "meshnode printed its ready line but sent no READY=1 to NOTIFY_SOCKET"
http=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["http"])' "$ready") \
  || fail "the ready line has no http address: $ready"
# Its gRPC door, opened from the install's lib/ (beside libmesh_node.so).
[[ "$ready" == *'"grpc":"127.0.0.1:'* ]] \
  || fail "the installed node opened no gRPC door: $ready"
grep -q "loaded plug-in $plugin" "$work/node-stderr.log" \
  || fail "the node did not log loading $plugin"
grep -qE "loaded plug-in $prefix/(bin/\.\./)?lib/mesh/plugins/libmesh_example_handlers\.so" \
  "$work/node-stderr.log" \
  || fail "the bare-named example plug-in was not found in $prefix/lib/mesh/plugins"

# Dispatches through the installed meshctl; prints the reply's result.
dispatch() {
  local out
  out=$("$prefix/bin/meshctl" --node "$http" --json dispatch "$@" 2>&1) \
    || fail "meshctl dispatch $* failed: $out"
  python3 - "$out" <<'EOF' || fail "meshctl dispatch $*: unexpected reply: $out"
import json, sys
reply = json.loads(sys.argv[1])
assert reply.get("ok") is True, reply
print(json.dumps(reply["result"]))
EOF
}

step "dispatch outside/EchoService/Echo through meshctl at $http"
result=$(dispatch outside EchoService Echo --payload '{"hello":"outside"}')
version=$(sed -n 's/.*mesh_version = "\(.*\)";/\1/p' "$prefix/include/mesh/protocol/version.hpp")
python3 - "$result" "$version" <<'EOF' \
  || fail "outside/EchoService/Echo answered wrongly: $result"
import json, sys
result = json.loads(sys.argv[1])
# The payload may be the result itself or under "payload".
payload = result.get("payload", result) if isinstance(result, dict) else result
assert payload["echo"] == {"hello": "outside"}, payload
assert payload["built_against"] == sys.argv[2], (payload, sys.argv[2])
EOF

step "  result: $result"

step "dispatch echo/EchoService/Echo (the installed example plug-in)"
dispatch echo EchoService Echo --payload '{"n":1}' >/dev/null

kill -TERM "$node_pid"
wait "$node_pid" || fail "meshnode did not exit cleanly on SIGTERM"
node_pid=""
wait "$notify_pid" || fail "no STOPPING=1 from meshnode on SIGTERM"
notify_pid=""
grep -qx "STOPPING=1" "$work/notify.txt" \
  || fail "meshnode sent no STOPPING=1 when it shut down"
step "ok"
