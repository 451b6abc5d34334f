#pragma once

// Small admission controls of the dispatch pipeline: the retry budget, the
// rate limiter (token bucket) and the retry backoff. Pure logic.

#include <chrono>
#include <cstdint>

#include "pipeline/policy.hpp"

namespace mesh {

/// Envoy's retry budget: retries in flight at most
/// max(min_concurrency, percent x active requests / 100).
class retry_budget {
public:
  /// A request starts / ends (retries included in its lifetime).
  void request_started() noexcept { ++active_; }
  void request_finished() noexcept {
    if (active_ > 0)
      --active_;
  }

  /// Takes a slot for one retry; false when the budget is spent.
  bool try_acquire(const budget_settings& cfg) noexcept;
  /// The retry ended (answered, failed or abandoned).
  void release() noexcept {
    if (retries_ > 0)
      --retries_;
  }

  /// How many retries may be in flight now.
  uint64_t allowed(const budget_settings& cfg) const noexcept;

  uint64_t active() const noexcept { return active_; }
  uint64_t retries_in_flight() const noexcept { return retries_; }
  uint64_t exhausted() const noexcept { return exhausted_; }

private:
  uint64_t active_ = 0;
  uint64_t retries_ = 0;
  uint64_t exhausted_ = 0; ///< refusals, for stats
};

/// A token bucket: `per_second` tokens a second, at most `burst` saved.
class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// True when a request may pass now (takes a token). Always true when
  /// cfg.per_second is 0.
  bool try_take(const rate_limit_settings& cfg, clock::time_point now);

  uint64_t refused() const noexcept { return refused_; }

private:
  double tokens_ = -1; ///< < 0: not started (a full bucket)
  clock::time_point last_{};
  uint64_t refused_ = 0;
};

/// The delay before retry number `retry` (1 for the first retry):
/// initial x multiplier^(retry-1), capped at max, then spread by +/- jitter;
/// `random01` is uniform in [0, 1). Never negative, never above max.
std::chrono::milliseconds retry_delay(const retry_settings& cfg,
                                      uint32_t retry, double random01);

} // namespace mesh
