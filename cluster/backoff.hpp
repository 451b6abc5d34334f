#pragma once

#include <chrono>
#include <cstdint>

namespace mesh {

/// Exponential backoff with jitter for re-dialling: the n-th delay is
/// initial x 2^n, capped at `max`, then spread by +/- `jitter` (a fraction)
/// so that nodes restarted together do not re-dial in lock-step.
class backoff {
public:
  backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          double jitter = 0.2)
    : initial_(initial), max_(max), jitter_(jitter) {}

  /// The delay before the next attempt; `random01` is uniform in [0, 1).
  std::chrono::milliseconds next(double random01) noexcept;

  /// Back to the initial delay (after a successful connection).
  void reset() noexcept {
    attempts_ = 0;
  }

  uint32_t attempts() const noexcept {
    return attempts_;
  }

private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  uint32_t attempts_ = 0;
};

} // namespace mesh
