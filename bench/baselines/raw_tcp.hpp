#pragma once

// The raw TCP baseline (bench/baselines/tcp_echo.cpp): the physical limit
// under both Mesh and bare CAF, measured in the same meshbench run with the
// same payload, in-flight count and pinning, so every Mesh figure can be
// given as a ratio to it.

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Starts `tcp_echo serve`, runs `tcp_echo client` against it with
/// `in_flight` messages outstanding, stops the server; the client's figures
/// (requests_per_s, p50_us, ...: the load driver's fields).
caf::expected<nlohmann::json> run_raw_tcp(const bench_options& opts,
                                          size_t in_flight);

} // namespace mesh::bench
