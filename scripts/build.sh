#!/usr/bin/env bash
# Configures and builds Mesh into build/ (or $MESH_BUILD_DIR). Extra
# arguments go to CMake's configure step, e.g. -DMESH_SANITIZE=ON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MESH_BUILD_DIR:-$root/build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake "$build" "$@" >/dev/null
fi
# Two jobs: this is sized for a 2-core machine; more only adds memory use.
cmake --build "$build" -j "${MESH_JOBS:-2}"
