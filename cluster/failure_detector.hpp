#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "cluster/peer_state.hpp"

namespace mesh {

/// Heartbeat bookkeeping for one peer: pure arithmetic over time points, so
/// it is tested without clocks or actors. A peer that was heard from within
/// `interval` is up; one silent for half the miss threshold (and at least
/// 1.5 intervals) is suspect; one silent for `interval x misses` is down.
/// The interval is this node's, or the peer's own when it beats more slowly
/// (pace): nodes configured with different intervals then never judge a
/// peer by beats it was never going to send.
class failure_detector {
public:
  using clock = std::chrono::steady_clock;

  /// The longest interval a peer may announce (the configuration's maximum).
  static constexpr std::chrono::milliseconds max_pace{60000};

  failure_detector(std::chrono::milliseconds interval, uint32_t misses)
    : base_(interval), interval_(interval), misses_(misses == 0 ? 1 : misses) {}

  /// The peer says it beats every `peer_interval` (0: it did not say, an
  /// older node): silence is judged against the longer of that and ours,
  /// at most max_pace.
  void pace(std::chrono::milliseconds peer_interval) noexcept {
    interval_ = std::max(base_, std::min(peer_interval, max_pace));
  }

  /// The interval silence is judged against now.
  std::chrono::milliseconds interval() const noexcept {
    return interval_;
  }

  /// A heartbeat (or any message) arrived at `now`.
  void heard(clock::time_point now) noexcept {
    last_ = now;
  }

  clock::time_point last_heard() const noexcept {
    return last_;
  }

  /// The state the silence since the last heartbeat implies at `now`.
  peer_state assess(clock::time_point now) const noexcept;

  /// How long the peer may stay silent before it is down.
  std::chrono::milliseconds timeout() const noexcept {
    return interval_ * misses_;
  }

private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds interval_;
  uint32_t misses_;
  clock::time_point last_{};
};

/// How long until the next heartbeat tick when ticks fall on multiples of
/// `interval` of a clock every node on the host shares (`since_epoch` is the
/// time on it). Every node then beats at the same moment, so each receives
/// its peers' beats in one burst, handled in a few activations instead of
/// one wake-up per peer spread over the interval (an idle cluster's CPU).
/// A boundary closer than a tenth of the interval is skipped, so a tick
/// that fires on its boundary never schedules a second one right after.
std::chrono::nanoseconds next_beat_delay(std::chrono::nanoseconds since_epoch,
                                         std::chrono::milliseconds interval);

} // namespace mesh
