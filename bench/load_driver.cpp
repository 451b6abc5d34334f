#include "bench/load_driver.hpp"

namespace mesh::bench {

nlohmann::json load_result::to_json() const {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"requests_per_s", per_second()},
          {"ok", ok},
          {"failed", failed},
          {"p50_us", us(latency.quantile(0.50))},
          {"p90_us", us(latency.quantile(0.90))},
          {"p99_us", us(latency.quantile(0.99))},
          {"max_us", us(latency.max())},
          {"mean_us", latency.mean() / 1000.0},
          {"first_error", first_error}};
}

} // namespace mesh::bench
