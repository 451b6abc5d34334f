#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds, and runs every test suite.
# Ends with CTest's summary; exits non-zero on any failure.
# MESH_SANITIZE=1 builds and tests with AddressSanitizer + UBSan instead
# (in build-asan/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --tests
if [ "${MESH_SANITIZE:-0}" = 1 ]; then
  export MESH_BUILD_DIR=${MESH_BUILD_DIR:-$root/build-asan}
  # No benchmarks here: no test runs them, and instrumented they measure nothing.
  "$root/scripts/build.sh" -DMESH_SANITIZE=ON -DMESH_BUILD_BENCH=OFF
else
  "$root/scripts/build.sh"
fi
cd "${MESH_BUILD_DIR:-$root/build}"
exec ctest --output-on-failure -j "${MESH_JOBS:-2}"
