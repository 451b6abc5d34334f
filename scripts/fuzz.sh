#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs
# each for SECONDS (default 60) or 100,000 inputs beyond the corpus,
# whichever is later. Seeds come from tests/fuzz/corpus/NAME (committed,
# replayed by every test run); what the fuzzer learns goes to
# build-fuzz/corpus/NAME, crashes to build-fuzz/artifacts/. Exits non-zero
# if any target crashes, leaks or reports undefined behaviour: add the
# crashing input to tests/fuzz/corpus/NAME once it is fixed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
runs=${MESH_FUZZ_RUNS:-100000}
"$root/scripts/install-deps.sh"
missing=()
for p in clang libclang-rt-14-dev; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
build=$root/build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_FUZZ=ON -DMESH_SANITIZE=ON \
    >/dev/null
fi
cmake --build "$build" -j "${MESH_JOBS:-2}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/cmake/ubsan.supp"
export ASAN_OPTIONS="detect_leaks=1"
export LSAN_OPTIONS="suppressions=$root/cmake/lsan.supp"
status=0
for target in fuzz_node_config fuzz_manifest fuzz_json_payload \
              fuzz_wire_messages fuzz_names fuzz_job fuzz_workflow \
              fuzz_data_frames fuzz_stored_rows fuzz_grpc_reflection \
              fuzz_http_head; do
  mkdir -p "$build/corpus/$target" "$build/artifacts"
  echo "== $target: ${seconds} s, at least $runs inputs" >&2
  start=$(date +%s)
  # Two passes: the runs bound, then whatever time is left.
  if ! "$build/bin/$target" -runs="$runs" -rss_limit_mb=2048 \
       -artifact_prefix="$build/artifacts/$target-" \
       "$build/corpus/$target" "$root/tests/fuzz/corpus/$target" \
       2> "$build/$target.log"; then
    echo "$target: FAILED (see $build/$target.log)" >&2
    status=1
    continue
  fi
  left=$(( seconds - ($(date +%s) - start) ))
  if [ "$left" -gt 0 ] && ! "$build/bin/$target" -max_total_time="$left" \
       -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$target-" \
       "$build/corpus/$target" "$root/tests/fuzz/corpus/$target" \
       2>> "$build/$target.log"; then
    echo "$target: FAILED (see $build/$target.log)" >&2
    status=1
    continue
  fi
  grep -E "^Done [0-9]+ runs" "$build/$target.log" >&2
done
exit $status
