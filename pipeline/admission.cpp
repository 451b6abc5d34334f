#include "pipeline/admission.hpp"

#include <algorithm>
#include <cmath>

namespace mesh {

uint64_t retry_budget::allowed(const budget_settings& cfg) const noexcept {
  double share = 0;
  // `!(x > 0)` also catches NaN from a hand-built config.
  if (cfg.percent > 0)
    share = std::floor(cfg.percent * static_cast<double>(active_) / 100.0);
  // A double this large no longer converts to uint64 safely.
  constexpr double huge = 1.8e19;
  auto by_percent = share >= huge ? UINT64_MAX : static_cast<uint64_t>(share);
  return std::max<uint64_t>(cfg.min_concurrency, by_percent);
}

bool retry_budget::try_acquire(const budget_settings& cfg) noexcept {
  if (retries_ < allowed(cfg)) {
    ++retries_;
    return true;
  }
  ++exhausted_;
  return false;
}

bool rate_limiter::try_take(const rate_limit_settings& cfg,
                            clock::time_point now) {
  if (!(cfg.per_second > 0))
    return true;
  double burst = cfg.burst > 0 ? static_cast<double>(cfg.burst)
                               : std::max(1.0, cfg.per_second);
  if (tokens_ < 0) {
    tokens_ = burst; // a new limiter starts with a full bucket
    last_ = now;
  } else if (now > last_) {
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ += elapsed.count() * cfg.per_second;
    last_ = now;
  }
  // Also applies a smaller burst after a config change at once.
  tokens_ = std::min(burst, tokens_);
  // The tolerance absorbs rounding in elapsed x rate (0.1 s x 10/s may
  // come out a hair below one token).
  if (tokens_ >= 1.0 - 1e-9) {
    tokens_ = std::max(0.0, tokens_ - 1.0);
    return true;
  }
  ++refused_;
  return false;
}

std::chrono::milliseconds retry_delay(const retry_settings& cfg,
                                      uint32_t retry, double random01) {
  double cap = std::max<double>(0, static_cast<double>(cfg.max.count()));
  double initial = static_cast<double>(cfg.initial.count());
  double delay = 0;
  if (initial > 0) {
    auto exponent = static_cast<double>(std::max<uint32_t>(retry, 1) - 1);
    delay = initial * std::pow(cfg.multiplier, exponent);
    // Also catches inf and NaN from a huge exponent or odd multiplier.
    if (!(delay <= cap))
      delay = cap;
  }
  double jitter = std::isnan(cfg.jitter) ? 0 : std::clamp(cfg.jitter, 0.0, 1.0);
  double r = std::isnan(random01) ? 0.5 : std::clamp(random01, 0.0, 1.0);
  delay *= 1.0 + jitter * (2.0 * r - 1.0);
  delay = std::round(delay);
  // At the cap, return it exactly (and never convert a double near 2^63).
  if (delay >= cap)
    return std::max(cfg.max, std::chrono::milliseconds{0});
  delay = std::max(delay, 0.0);
  return std::chrono::milliseconds{static_cast<int64_t>(delay)};
}

} // namespace mesh
