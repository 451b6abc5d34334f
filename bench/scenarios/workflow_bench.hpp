#pragma once

// The workflow scenario of meshbench (seed 003): one node W with the bench
// plug-in and generated workflows, once with the run store's
// synchronous=NORMAL (the default) and once with OFF.
//   - Per-step overhead: chain1 (1 step) and chain20 (20 sequential steps),
//     one run at a time through the console; a step costs
//     (p50(chain20) - p50(chain1)) / 19, against a plain dispatch of the
//     same handler (bench/Local/Echo) at 1 in flight on W, measured in the
//     same run through the console and by the in-node driver.
//   - Runs per second of `three` (a -> b -> c): N runs started with async,
//     timed until none is running any more.

#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Runs the scenario with `runs` runs of `three` per store mode, prints its
/// table and returns the figures (an error text under "error" per mode).
nlohmann::json run_workflow_bench(bench_env& env, size_t runs);

} // namespace mesh::bench
