#pragma once

// bridge: the hop from gRPC's callback threads into the node's actors, for
// every call of the front door. Spawning an actor per call cost more than
// the rest of the front door together (issue 17, section 5), and a pool of
// bridge actors still cost two more messages per call (gRPC thread -> bridge
// -> router -> bridge) and a second wake-up. The bridge is an actor
// without a mailbox of its own (like actors/processes/process_gate.cpp):
//
//   gRPC thread: ask(dest, ...)   -> the call joins the bridge's table (a
//                                    mutex) and the request goes straight
//                                    into dest's mailbox, the bridge as its
//                                    sender
//   dest's thread: its answer     -> enqueued to the bridge, which takes the
//                                    call out of its table and finishes it
//                                    right there (no second hop)
//
// So a Dispatch costs two actor messages (request, answer).
//
// Exactly once: a call is finished by whoever takes it out of the table
// under its lock: the answer; a down message of the actor it was sent to
// (the bridge monitors every actor it asks: one that dies or restarts
// holding calls ends them with `unavailable` at once); its timer (calls
// with their own timeout); the sweep (once a second: calls past their
// timeout, the safety net for calls without a timer); stop(). A call asked
// after stop() is finished at once with `unavailable`. The answer function
// runs in the thread that decides: the actor's (a CAF worker, or the gRPC
// thread itself when the request found the actor idle and ran it there,
// see inline_unit.hpp), the clock's thread (timer, sweep), the caller of
// stop(), or the gRPC thread (refused at once); it must not throw (an
// exception is logged, never propagated).

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

namespace mesh::grpc_door {

/// Runs once with the answer: what the actor answered, or a caf::error.
using answer_fn = std::function<void(caf::type_erased_tuple&)>;

/// Whether an actor a call wakes may run in the gRPC thread (inline_unit.hpp):
/// any but those that wait on a disk (the task dispatcher and the workflow
/// runner write SQLite), since gRPC's callback threads must not block.
bool runs_in_grpc_thread(caf::resumable* job) noexcept;

class bridge {
public:
  explicit bridge(caf::actor_system& sys);

  /// Stops the bridge if still running.
  ~bridge();

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Sends (xs...) as a request to `dest` (an actor of this node; null: the
  /// call is finished with `unavailable` naming `what`, e.g. "router").
  /// `done` gets the answer exactly once. `timeout`: when the call gives
  /// up (`deadline_exceeded`; with `timer` a timer of its own for a precise
  /// answer, else the next sweep). Never throws.
  template<class... Ts>
  void ask(const caf::strong_actor_ptr& dest, const char* what, answer_fn done,
           std::chrono::milliseconds timeout, bool timer, Ts&&... xs) noexcept {
    if (auto id = open(dest, what, std::move(done), timeout, timer))
      post(dest, id, [&] {
        return caf::make_mailbox_element(nullptr, caf::make_message_id(id), {},
                                         std::forward<Ts>(xs)...);
      });
  }

  /// Finishes every call in flight with `unavailable`; later calls are
  /// finished at once the same way. Idempotent.
  void stop() noexcept;

  class sink;

private:
  /// Tables a call; 0 when it was finished at once (no destination,
  /// stopped). dest dying ends the call.
  uint64_t open(const caf::strong_actor_ptr& dest, const char* what,
                answer_fn done, std::chrono::milliseconds timeout,
                bool timer) noexcept;

  template<class F>
  void post(const caf::strong_actor_ptr& dest, uint64_t id, F make) noexcept {
    caf::mailbox_element_ptr what;
    try {
      what = make();
    } catch (...) {
      failed(id);
      return;
    }
    deliver(dest, std::move(what));
  }

  /// Hands a request to dest, the bridge as its sender.
  void deliver(const caf::strong_actor_ptr& dest,
               caf::mailbox_element_ptr what) noexcept;

  /// Finishes call `id` with `internal` (its request could not be built).
  void failed(uint64_t id) noexcept;

  caf::actor handle_; ///< keeps the sink alive
  sink* sink_;
};

} // namespace mesh::grpc_door
