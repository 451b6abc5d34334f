#include "telemetry/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace mesh {

int latency_histogram::bucket_of(uint64_t nanos) noexcept {
  if (nanos < sub_buckets)
    return static_cast<int>(nanos);
  int msb = 63 - __builtin_clzll(nanos);
  // The three bits below the most significant one pick the sub-bucket.
  auto mantissa = static_cast<int>((nanos >> (msb - 3)) & (sub_buckets - 1));
  return std::min((msb - 2) * sub_buckets + mantissa, bucket_count - 1);
}

uint64_t latency_histogram::upper_bound_of(int bucket) noexcept {
  if (bucket < sub_buckets)
    return static_cast<uint64_t>(bucket);
  int msb = bucket / sub_buckets + 2;
  uint64_t mantissa = static_cast<uint64_t>(bucket % sub_buckets);
  if (msb >= 63)
    return UINT64_MAX;
  uint64_t base = uint64_t{1} << msb;
  uint64_t step = base / sub_buckets;
  return base + (mantissa + 1) * step - 1;
}

void latency_histogram::record(uint64_t nanos) noexcept {
  ++buckets_[bucket_of(nanos)];
  ++count_;
  max_ = std::max(max_, nanos);
  sum_ += nanos;
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (int i = 0; i < bucket_count; ++i)
    buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double latency_histogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / count_);
}

uint64_t latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank)
      return std::min(upper_bound_of(i), max_);
  }
  return max_;
}

nlohmann::json latency_histogram::to_json() const {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"count", count_},
          {"mean_us", mean() / 1000.0},
          {"p50_us", us(quantile(0.50))},
          {"p90_us", us(quantile(0.90))},
          {"p99_us", us(quantile(0.99))},
          {"max_us", us(max_)}};
}

} // namespace mesh
