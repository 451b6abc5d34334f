#pragma once

// When a caller or handler declared non-blocking has blocked. The thread
// that must never wait (the data plane's, the router's) learns it only after
// the fact, from how long a turn took. One long turn alone may be the host's
// (a virtual machine's CPU taken away for a moment), so a declaration ends
// at the second stall; and only at a second within stall_window of the
// first: two pauses of a busy host far apart must not demote a healthy
// one, while one that really blocks does so on nearly every call.

#include <chrono>
#include <optional>

namespace mesh {

/// How soon after a first stall a second one ends a declaration.
inline constexpr std::chrono::seconds stall_window{60};

/// Whether a stall at `now` comes within stall_window of one at `first`.
inline bool within_stall_window(std::chrono::steady_clock::time_point first,
                                std::chrono::steady_clock::time_point now) {
  return now >= first && now - first < stall_window;
}

/// One declaration's stalls. Not thread-safe (its owner's lock guards it).
class stall_counter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Counts a stall at `now`: true when it is the second within
  /// stall_window (the declaration ends); otherwise it is a first.
  bool second(time_point now) noexcept {
    if (first_ && within_stall_window(*first_, now))
      return true;
    first_ = now;
    return false;
  }

private:
  std::optional<time_point> first_;
};

} // namespace mesh
