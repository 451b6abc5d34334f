#pragma once

// guarded_promise: a response promise that is never dropped silently. CAF
// 0.17 forgets the promises an actor held when it dies (an exception, an
// injected failure), and their callers wait for their own time-out; the
// last copy of a guarded promise answers `unavailable` ("the router of
// node X stopped before answering") if nobody delivered it. Copies share
// one promise: a delivery through any of them counts for all.
//
// Use: `auto rp = self->make_response_promise<T>();` return `rp` from the
// handler as usual, and deliver through `guarded_typed_promise<T>{rp, who}`. Actors
// that keep their promises in their state answer them from the state's
// destructor instead (answer_unanswered): no cost per request.

#include <memory>
#include <string>
#include <utility>

#include <caf/response_promise.hpp>
#include <caf/typed_response_promise.hpp>

#include "protocol/status.hpp"

namespace mesh {

/// Answers `rp` with `unavailable` unless it was delivered already.
template <class Promise>
void answer_unanswered(Promise& rp, const std::string& who) {
  if (rp.pending())
    rp.deliver(make_error(status_code::unavailable,
                          who + " stopped before answering"));
}

template <class Promise>
class guarded {
public:
  guarded() = default;

  /// `who`: what holds it, as in "the router of node X".
  guarded(Promise rp, std::string who)
    : state_(std::make_shared<state>(std::move(rp), std::move(who))) {
  }

  template <class... Ts>
  void deliver(Ts&&... xs) const {
    if (state_ && state_->rp.pending())
      state_->rp.deliver(std::forward<Ts>(xs)...);
  }

private:
  struct state {
    state(Promise p, std::string w) : rp(std::move(p)), who(std::move(w)) {
    }
    ~state() {
      answer_unanswered(rp, who);
    }
    Promise rp;
    std::string who;
  };
  std::shared_ptr<state> state_;
};

template <class... Ts>
using guarded_typed_promise = guarded<caf::typed_response_promise<Ts...>>;

} // namespace mesh
