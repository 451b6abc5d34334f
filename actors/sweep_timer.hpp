#pragma once

// sweep_timer: one timer for every deadline an actor holds. The actor arms
// it for each new deadline; while a sweep due no later is pending, arming
// does nothing, so the actor sends itself one message per deadline that
// matters, not one per call (CAF's clock runs on its own thread, and waking
// it per request costs more than the request).

#include <algorithm>
#include <utility>

#include "protocol/messaging/atoms.hpp"

namespace mesh {

template <class Clock>
class sweep_timer {
public:
  using time_point = typename Clock::time_point;
  using duration = decltype(std::declval<time_point>()
                            - std::declval<time_point>());

  /// Makes `self` receive `atom::sweep` `slack` after `when` (at once if
  /// `when` has passed), unless a sweep due no later than `when` is pending.
  template <class Self>
  void arm(Self* self, time_point when, time_point now, duration slack = {}) {
    if (pending_ && at_ <= when)
      return;
    pending_ = true;
    at_ = when;
    self->delayed_send(self, std::max(when - now, duration{0}) + slack,
                       atom::sweep_v);
  }

  /// The sweep arrived: the next arm() sends again.
  void fired() {
    pending_ = false;
  }

private:
  bool pending_ = false;
  time_point at_{};
};

} // namespace mesh
