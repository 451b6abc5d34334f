#define CAF_SUITE pipeline.admission
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "pipeline/admission.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

budget_settings budget(double percent, uint32_t min_concurrency) {
  budget_settings b;
  b.percent = percent;
  b.min_concurrency = min_concurrency;
  return b;
}

rate_limit_settings rate(double per_second, uint32_t burst) {
  rate_limit_settings r;
  r.per_second = per_second;
  r.burst = burst;
  return r;
}

void start(retry_budget& b, int n) {
  for (int i = 0; i < n; ++i)
    b.request_started();
}

} // namespace

CAF_TEST(the budget allows a percentage of active requests or the minimum) {
  retry_budget b;
  CAF_CHECK_EQUAL(b.allowed(budget(20, 3)), 3u);
  start(b, 10);
  CAF_CHECK_EQUAL(b.allowed(budget(20, 3)), 3u); // 2 < 3
  start(b, 10);
  CAF_CHECK_EQUAL(b.allowed(budget(20, 3)), 4u);
  start(b, 80);
  CAF_CHECK_EQUAL(b.active(), 100u);
  CAF_CHECK_EQUAL(b.allowed(budget(20, 3)), 20u);
  CAF_CHECK_EQUAL(b.allowed(budget(12.5, 0)), 12u);  // floor(12.5)
  CAF_CHECK_EQUAL(b.allowed(budget(0, 0)), 0u);
  CAF_CHECK_EQUAL(b.allowed(budget(100, 0)), 100u);
  CAF_CHECK_EQUAL(b.allowed(budget(0.5, 0)), 0u);
  CAF_CHECK_EQUAL(b.allowed(budget(std::nan(""), 2)), 2u);
}

CAF_TEST(the budget refuses retries beyond it and counts refusals) {
  retry_budget b;
  auto cfg = budget(20, 3);
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(b.try_acquire(cfg));
  CAF_CHECK_EQUAL(b.retries_in_flight(), 3u);
  CAF_CHECK(!b.try_acquire(cfg));
  CAF_CHECK(!b.try_acquire(cfg));
  CAF_CHECK_EQUAL(b.exhausted(), 2u);
  CAF_CHECK_EQUAL(b.retries_in_flight(), 3u);
  b.release();
  CAF_CHECK(b.try_acquire(cfg));
  // More active requests make room for more retries.
  start(b, 20);
  CAF_CHECK(b.try_acquire(cfg));
  CAF_CHECK(!b.try_acquire(cfg));
  CAF_CHECK_EQUAL(b.retries_in_flight(), 4u);
  CAF_CHECK_EQUAL(b.exhausted(), 3u);
  // Ending requests shrinks the budget again; retries in flight stay.
  for (int i = 0; i < 25; ++i)
    b.request_finished();
  CAF_CHECK_EQUAL(b.active(), 0u);
  CAF_CHECK(!b.try_acquire(cfg));
  for (int i = 0; i < 6; ++i)
    b.release();
  CAF_CHECK_EQUAL(b.retries_in_flight(), 0u);
  // No budget at all: never a retry.
  retry_budget none;
  CAF_CHECK(!none.try_acquire(budget(0, 0)));
  CAF_CHECK_EQUAL(none.exhausted(), 1u);
}

CAF_TEST(no rate means no limit) {
  rate_limiter lim;
  auto t = rate_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i)
    CAF_CHECK(lim.try_take(rate(0, 0), t));
  CAF_CHECK_EQUAL(lim.refused(), 0u);
}

CAF_TEST(the bucket starts full and refills at the rate up to the burst) {
  rate_limiter lim;
  auto cfg = rate(10, 5);
  auto t = rate_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(lim.try_take(cfg, t));
  CAF_CHECK(!lim.try_take(cfg, t));
  CAF_CHECK_EQUAL(lim.refused(), 1u);
  t += 99ms;
  CAF_CHECK(!lim.try_take(cfg, t));
  t += 1ms; // 100 ms at 10/s: one token
  CAF_CHECK(lim.try_take(cfg, t));
  CAF_CHECK(!lim.try_take(cfg, t));
  // A long pause saves no more than the burst.
  t += 1h;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(lim.try_take(cfg, t));
  CAF_CHECK(!lim.try_take(cfg, t));
  CAF_CHECK_EQUAL(lim.refused(), 4u);
}

CAF_TEST(a steady stream passes at the rate) {
  rate_limiter lim;
  auto cfg = rate(10, 1);
  auto t = rate_limiter::clock::time_point{} + 1h;
  int passed = lim.try_take(cfg, t) ? 1 : 0;
  // Twice the rate for 10 s: half pass.
  for (int i = 0; i < 200; ++i) {
    t += 50ms;
    passed += lim.try_take(cfg, t) ? 1 : 0;
  }
  CAF_CHECK_EQUAL(passed, 101);
  CAF_CHECK_EQUAL(lim.refused(), 100u);
}

CAF_TEST(a zero burst holds max of one and the rate) {
  auto t = rate_limiter::clock::time_point{} + 1h;
  rate_limiter fast;
  auto cfg = rate(2.5, 0); // a bucket of 2.5
  CAF_CHECK(fast.try_take(cfg, t));
  CAF_CHECK(fast.try_take(cfg, t));
  CAF_CHECK(!fast.try_take(cfg, t));
  t += 200ms; // 0.5 + 0.5
  CAF_CHECK(fast.try_take(cfg, t));
  rate_limiter slow;
  auto slow_cfg = rate(0.5, 0); // a bucket of 1
  CAF_CHECK(slow.try_take(slow_cfg, t));
  CAF_CHECK(!slow.try_take(slow_cfg, t));
  t += 1s;
  CAF_CHECK(!slow.try_take(slow_cfg, t));
  t += 1s;
  CAF_CHECK(slow.try_take(slow_cfg, t));
  t += 1h;
  CAF_CHECK(slow.try_take(slow_cfg, t));
  CAF_CHECK(!slow.try_take(slow_cfg, t));
}

CAF_TEST(the retry delay grows by the multiplier up to the cap) {
  retry_settings cfg;
  cfg.initial = 100ms;
  cfg.multiplier = 2;
  cfg.max = 1000ms;
  cfg.jitter = 0;
  std::vector<int64_t> delays;
  for (uint32_t retry : {1u, 2u, 3u, 4u, 5u, 6u, 100u, 100000u})
    delays.push_back(retry_delay(cfg, retry, 0.99).count());
  CAF_CHECK_EQUAL(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000,
                                                1000, 1000}));
  cfg.multiplier = 1;
  CAF_CHECK_EQUAL(retry_delay(cfg, 7, 0).count(), 100);
  cfg.initial = 0ms;
  cfg.multiplier = 1e300;
  CAF_CHECK_EQUAL(retry_delay(cfg, 9, 0.5).count(), 0);
}

CAF_TEST(jitter spreads the delay within its bounds and never past max) {
  retry_settings cfg;
  cfg.initial = 100ms;
  cfg.multiplier = 2;
  cfg.max = 1000ms;
  cfg.jitter = 0.2;
  CAF_CHECK_EQUAL(retry_delay(cfg, 1, 0.0).count(), 80);
  CAF_CHECK_EQUAL(retry_delay(cfg, 1, 0.5).count(), 100);
  CAF_CHECK_EQUAL(retry_delay(cfg, 1, 0.999999).count(), 120);
  std::mt19937 gen{42};
  std::uniform_real_distribution<double> random01{0.0, 1.0};
  bool below = false;
  bool above = false;
  for (uint32_t retry = 1; retry <= 12; ++retry) {
    double base = std::min(100.0 * std::pow(2.0, retry - 1), 1000.0);
    auto lo = static_cast<int64_t>(std::floor(base * 0.8));
    auto hi = static_cast<int64_t>(std::min(1000.0, std::ceil(base * 1.2)));
    for (int i = 0; i < 500; ++i) {
      auto d = retry_delay(cfg, retry, random01(gen)).count();
      CAF_CHECK_GREATER_OR_EQUAL(d, lo);
      CAF_CHECK_LESS_OR_EQUAL(d, hi);
      below = below || d < base;
      above = above || d > base;
    }
  }
  // Both directions actually happen.
  CAF_CHECK(below);
  CAF_CHECK(above);
  // Full jitter may reach zero, never below; out-of-range inputs clamp.
  cfg.jitter = 1;
  CAF_CHECK_EQUAL(retry_delay(cfg, 1, 0).count(), 0);
  CAF_CHECK_EQUAL(retry_delay(cfg, 1, -3).count(), 0);
  CAF_CHECK_EQUAL(retry_delay(cfg, 4, 5).count(), 1000);
}
