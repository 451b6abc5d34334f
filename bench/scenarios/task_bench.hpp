#pragma once

// The durable-task scenario of meshbench: emit -> task -> handler on another
// node -> done, with the task store's synchronous=FULL and NORMAL, beside
// the raw SQLite rate of the same writes measured in the same run (the
// limit: three writes per task, inserted, leased, done, in batches).

#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Runs the scenario, prints its table and returns the figures (or an
/// error text under "error").
nlohmann::json run_task_bench(bench_env& env, size_t tasks);

} // namespace mesh::bench
