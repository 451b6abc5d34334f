#pragma once

// meshbench's scale scenario: N meshnode processes on 127.0.0.1 (port 0),
// one seed and N-1 nodes started together that name only the seed. It
// reports how long after the last node's start every node sees N-1 peers
// up (each node's HTTP API, GET /v1/status, polled), the CPU the whole
// idle cluster uses over a period (utime + stime from /proc/<pid>/stat),
// and each node's resident memory.

#include <chrono>

#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Runs the scenario, prints its table and returns the figures as JSON
/// ({"error": ...} when the mesh never formed).
nlohmann::json run_scale_bench(const bench_options& opts, size_t nodes,
                               std::chrono::milliseconds idle);

} // namespace mesh::bench
