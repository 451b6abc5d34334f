#pragma once

// What meshbench's tables are made of: the run with the median throughput,
// ratios of two runs' figures, and numbers printed at a fixed precision.

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh::bench {

inline std::string fmt(double x, int precision = 1) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << x;
  return out.str();
}

/// The run with the median throughput (its latencies stay consistent);
/// `runs` must not be empty.
inline nlohmann::json median_run(std::vector<nlohmann::json> runs) {
  std::sort(runs.begin(), runs.end(), [](const auto& x, const auto& y) {
    return x.value("requests_per_s", 0.0) < y.value("requests_per_s", 0.0);
  });
  return runs[runs.size() / 2];
}

inline double ratio(double x, double y) {
  return y > 0 ? x / y : 0.0;
}

/// Throughput and p50 of `x` as ratios to those of `y`.
inline nlohmann::json ratios(const nlohmann::json& x, const nlohmann::json& y) {
  return {{"requests_per_s", ratio(x.value("requests_per_s", 0.0),
                                   y.value("requests_per_s", 0.0))},
          {"p50", ratio(x.value("p50_us", 0.0), y.value("p50_us", 0.0))}};
}

} // namespace mesh::bench
