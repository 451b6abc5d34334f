#!/usr/bin/env bash
# Installs every Debian 12 package Mesh needs to build, test and benchmark.
# Idempotent: asks dpkg what is already there and only calls apt-get for the
# rest, so a second run is quiet and takes well under a second.
# `--tests` adds what only the tests need (a headless browser, curl, Python
# with gRPC and protobuf for the Python client example); `--bench` what only
# the benchmarks need (Erlang/OTP, a peer meshbench measures Mesh against).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libcaf-dev libssl-dev openssl
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc grpc-proto
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libvalijson-dev json-schema-test-suite
  libmurmurhash-dev libcli11-dev libsqlite3-dev
  libbenchmark-dev libcpp-httplib-dev libjemalloc-dev libzmq3-dev
  procps util-linux
)
for arg in "$@"; do
  case $arg in
    --tests) packages+=(chromium curl python3 python3-grpcio python3-protobuf) ;;
    --bench) packages+=(erlang-base) ;;
    *) echo "install-deps: unknown option $arg (--tests, --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
