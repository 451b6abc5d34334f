#pragma once

// bridge_pool: the hop from gRPC's callback threads to the router for the
// hot calls (Dispatch and Serve of both services). Spawning an actor per
// call cost more than the rest of the front door together (issue 17,
// section 5), so a few long-lived bridge actors carry every such call:
//
//   gRPC thread: submit(job)  -> the job joins a bridge's queue (a mutex);
//                                only an empty -> non-empty queue wakes the
//                                bridge (one `flush` message)
//   bridge:      flush        -> drains its queue, asks the router for each
//                                job (no CAF timeout: the router answers
//                                every request once, by its deadline) and
//                                finishes the call from the answer
//
// Exactly once: a job is finished by whoever takes it out of its bridge's
// queue or in-flight table under the bridge's lock. A bridge that stops
// (stop(), or it dies) finishes all it holds with `unavailable`, and a job
// arriving afterwards is finished at once. Safety net at no cost per call:
// each bridge sweeps its table once a second and finishes calls past their
// deadline plus the margin (ask_timeout) with `deadline_exceeded`, so a
// router that dies holding a request cannot leave a call open.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/routing/request_router.hpp"

namespace mesh::grpc_door {

/// The router's answer to a bridged call, or why there is none.
using bridge_answer
  = std::variant<pb::DispatchResponse, pb::ServeResponse, caf::error>;

struct bridge_job {
  std::variant<pb::DispatchRequest, pb::ServeRequest> request;
  /// Finishes the call; runs exactly once, on a bridge or in submit/stop.
  std::function<void(bridge_answer&&)> done;
  /// When the sweep gives up on the call (its deadline and a margin).
  std::chrono::steady_clock::time_point give_up;
};

class bridge_pool {
public:
  /// Spawns `n` bridges (at least one) asking the router in `router`.
  bridge_pool(caf::actor_system& sys, actor_slot<router_actor> router,
              size_t n = 2);

  /// Stops the bridges if still running.
  ~bridge_pool();

  bridge_pool(const bridge_pool&) = delete;
  bridge_pool& operator=(const bridge_pool&) = delete;

  /// Hands a call to a bridge (round robin). Thread-safe, never blocks on
  /// CAF; after stop() it finishes the call at once with `unavailable`.
  void submit(bridge_job job);

  /// Finishes every queued and in-flight call with `unavailable` and ends
  /// the bridges. Idempotent.
  void stop();

  struct lane;

private:
  std::vector<std::shared_ptr<lane>> lanes_;
  std::atomic<size_t> next_{0};
};

} // namespace mesh::grpc_door
