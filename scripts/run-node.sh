#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs one Mesh node on
# the embedded default configuration (127.0.0.1:7420, console 7421, example
# handlers loaded). Arguments are passed to meshnode. Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >&2
exec "${MESH_BUILD_DIR:-$root/build}/bin/meshnode" "$@"
