#pragma once

// What meshbench's tables are made of: the run with the median throughput,
// ratios of two runs' figures (and of runs measured side by side), and
// numbers printed at a fixed precision.

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/median.hpp"

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

/// Each run's ratio to the baseline run beside it, and their median: on a
/// VM whose speed changes every minute or so (BENCHMARKS.md), neighbours in
/// time share the machine's state; the medians of two series need not.
/// {requests_per_s, p50, requests_per_s_min, requests_per_s_max, pairs}
inline nlohmann::json pairwise(const std::vector<nlohmann::json>& meshes,
                               const std::vector<nlohmann::json>& bases) {
  std::vector<double> rps, p50;
  for (size_t i = 0; i < meshes.size() && i < bases.size(); ++i) {
    if (bases[i].value("requests_per_s", 0.0) <= 0)
      continue; // a baseline run that measured nothing pairs with nothing
    auto r = ratios(meshes[i], bases[i]);
    rps.push_back(r["requests_per_s"]);
    p50.push_back(r["p50"]);
  }
  auto [lo, hi] = std::minmax_element(rps.begin(), rps.end());
  return {{"requests_per_s", median(rps)},
          {"p50", median(p50)},
          {"requests_per_s_min", rps.empty() ? 0.0 : *lo},
          {"requests_per_s_max", rps.empty() ? 0.0 : *hi},
          {"pairs", rps.size()}};
}

} // namespace mesh::bench
