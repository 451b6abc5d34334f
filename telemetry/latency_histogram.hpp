#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace mesh {

/// A fixed-size log-linear histogram of durations in nanoseconds: 8 buckets
/// per power of two (relative error under 12.5 %), no allocation, O(1)
/// record. Owned by one actor; not thread-safe. Reports mean and quantiles.
class latency_histogram {
public:
  static constexpr int sub_buckets = 8;
  static constexpr int bucket_count = 64 * sub_buckets;

  void record(uint64_t nanos) noexcept;

  void merge(const latency_histogram& other) noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;

  /// The value below which a fraction `q` (0..1) of the samples fall; 0 when
  /// empty. Returns the upper bound of the bucket, capped at `max()`.
  uint64_t quantile(double q) const noexcept;

  /// {"count", "mean_us", "p50_us", "p90_us", "p99_us", "max_us"}.
  nlohmann::json to_json() const;

private:
  static int bucket_of(uint64_t nanos) noexcept;
  static uint64_t upper_bound_of(int bucket) noexcept;

  std::array<uint64_t, bucket_count> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace mesh
