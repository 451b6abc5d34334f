#pragma once

// The echo baselines that are one program with two modes, `serve` (prints
// {"port":N}) and `client` (prints the load driver's figures as JSON):
// tcp_echo, raw TCP ping-pong, the physical limit under both Mesh and bare
// CAF, and zmq_echo, ZeroMQ's DEALER/ROUTER. Measured in the same meshbench
// run with the same payload, in-flight count and pinning, so every Mesh
// figure can be given as a ratio to them.

#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Starts `PROGRAM serve` (from opts.bin_dir), runs `PROGRAM client`
/// against it with `in_flight` messages outstanding, stops the server; the
/// client's figures (requests_per_s, p50_us, ...: the load driver's fields).
caf::expected<nlohmann::json> run_echo_baseline(const bench_options& opts,
                                                const std::string& program,
                                                size_t in_flight);

/// run_echo_baseline with tcp_echo.
inline caf::expected<nlohmann::json> run_raw_tcp(const bench_options& opts,
                                                 size_t in_flight) {
  return run_echo_baseline(opts, "tcp_echo", in_flight);
}

} // namespace mesh::bench
