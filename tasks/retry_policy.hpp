#pragma once

#include <chrono>
#include <cstdint>

namespace mesh {

/// When a failed task is tried again (Temporal's activity retry shape): the
/// n-th retry waits initial x multiplier^(n-1), capped at `max`, spread by
/// +/- `jitter` (a fraction) so that a burst of failures does not come
/// back in lock-step.
struct retry_policy {
  std::chrono::milliseconds initial{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max{100000};
  double jitter = 0.1;

  /// The delay before attempt `next_attempt` (2 for the first retry);
  /// `random01` is uniform in [0, 1).
  std::chrono::milliseconds delay(uint32_t next_attempt,
                                  double random01) const noexcept;
};

} // namespace mesh
