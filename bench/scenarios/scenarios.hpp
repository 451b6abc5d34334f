#pragma once

// The meshbench scenarios, each measured against its own bare-CAF baseline
// in the same run. To add a scenario, add an entry to scenarios() with a
// Mesh measurement and the CAF equivalent of the same message path.

#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

struct scenario {
  std::string name;          ///< e.g. "local"
  std::string what;          ///< what the Mesh measurement covers
  std::string baseline_what; ///< the bare-CAF path it is compared with
  std::function<caf::expected<nlohmann::json>(bench_env&, size_t)> mesh;
  std::function<caf::expected<nlohmann::json>(bench_env&, size_t)> baseline;
};

const std::vector<scenario>& scenarios();

} // namespace mesh::bench
