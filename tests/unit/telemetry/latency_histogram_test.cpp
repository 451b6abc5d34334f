#define CAF_SUITE telemetry.latency_histogram
#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "telemetry/latency_histogram.hpp"

using namespace mesh;

CAF_TEST(an empty histogram reports zeros) {
  latency_histogram h;
  CAF_CHECK_EQUAL(h.count(), 0u);
  CAF_CHECK_EQUAL(h.quantile(0.5), 0u);
  CAF_CHECK_EQUAL(h.mean(), 0.0);
}

CAF_TEST(quantiles are within the bucket error) {
  latency_histogram h;
  for (uint64_t i = 1; i <= 1000; ++i)
    h.record(i * 1000); // 1 us .. 1 ms
  CAF_CHECK_EQUAL(h.count(), 1000u);
  auto p50 = static_cast<double>(h.quantile(0.5));
  auto p99 = static_cast<double>(h.quantile(0.99));
  CAF_CHECK_GREATER_OR_EQUAL(p50, 500000.0);
  CAF_CHECK_LESS_OR_EQUAL(p50, 500000.0 * 1.125);
  CAF_CHECK_GREATER_OR_EQUAL(p99, 990000.0);
  CAF_CHECK_LESS_OR_EQUAL(p99, 1000000.0);
  CAF_CHECK_EQUAL(h.max(), 1000000u);
  CAF_CHECK_EQUAL(h.quantile(1.0), 1000000u);
  CAF_CHECK_GREATER(h.mean(), 500000.0 * 0.99);
  CAF_CHECK_LESS(h.mean(), 500500.0 * 1.01);
}

CAF_TEST(small and huge values land in range) {
  latency_histogram h;
  h.record(0);
  h.record(3);
  h.record(UINT64_MAX / 2);
  CAF_CHECK_EQUAL(h.quantile(0.0), 0u);
  CAF_CHECK_EQUAL(h.quantile(0.5), 3u);
  CAF_CHECK_EQUAL(h.quantile(1.0), UINT64_MAX / 2);
}

CAF_TEST(merge adds counts) {
  latency_histogram a, b;
  a.record(10);
  b.record(20);
  b.record(30);
  a.merge(b);
  CAF_CHECK_EQUAL(a.count(), 3u);
  CAF_CHECK_EQUAL(a.max(), 30u);
  auto j = a.to_json();
  CAF_CHECK_EQUAL(j["count"], 3);
}
