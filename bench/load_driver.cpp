#include "bench/load_driver.hpp"

#include <algorithm>

namespace mesh::bench {

uint64_t load_result::quantile(double q) const {
  if (latencies_ns.empty())
    return 0;
  std::vector<uint64_t> sorted = latencies_ns;
  auto rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  std::nth_element(sorted.begin(), sorted.begin() + rank, sorted.end());
  return sorted[rank];
}

nlohmann::json load_result::to_json() const {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  double mean = 0;
  uint64_t max = 0;
  for (auto x : latencies_ns) {
    mean += static_cast<double>(x);
    max = std::max(max, x);
  }
  if (!latencies_ns.empty())
    mean /= static_cast<double>(latencies_ns.size());
  return {{"requests_per_s", per_second()},
          {"ok", ok},
          {"failed", failed},
          {"p50_us", us(quantile(0.50))},
          {"p90_us", us(quantile(0.90))},
          {"p99_us", us(quantile(0.99))},
          {"max_us", us(max)},
          {"mean_us", mean / 1000.0},
          {"first_error", first_error}};
}

} // namespace mesh::bench
