#pragma once

// handler_executor: runs one handler's calls with bounds.
//
// One executor per registered handler. It runs function and JSON handlers on
// its own job runner (worker threads, never CAF's scheduler threads) and
// forwards calls to actor handlers. At most `max_concurrency` calls run at
// once; up to `max_queue` more wait; beyond that a call is answered
// `overloaded` at once. Every call has a deadline (the caller's, capped by
// the handler's `max_deadline`, defaulting to the node's): a call not
// answered by then is answered `deadline_exceeded`, and its late result is
// discarded. A call that is still running past its deadline keeps its slot
// until the handler returns, so a hung handler cannot make the executor
// start unbounded threads. A function or JSON handler declared non_blocking
// runs through its inline_call instead, which the router calls directly (no
// actor hop, no thread hand-off); the executor then only reports it.
//
// Protocol (executor_actor below):
//   (pb::ServeRequest req)    -> pb::ServeResponse     // executor_id = node
//   (pb::DispatchRequest req) -> pb::DispatchResponse  // handled_by = node
//   (atom::drain)             -> caf::ok_atom          // once nothing pending
//   (atom::stats)             -> nlohmann::json        // counters, latency
//   (atom::retire)                                     // drain, then quit
// Requests must arrive validated by the request_router (trace id set).

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/handlers/handler.hpp"
#include "actors/handlers/inline_call.hpp"
#include "actors/handlers/job_runner.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh {

using executor_actor = caf::typed_actor<
  caf::replies_to<pb::ServeRequest>::with<pb::ServeResponse>,
  caf::replies_to<pb::DispatchRequest>::with<pb::DispatchResponse>,
  caf::reacts_to<atom::job_done, uint64_t, handler_outcome>, // its runner
  caf::reacts_to<atom::sweep>,                              // own timer
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::reacts_to<atom::retire>,
  caf::replies_to<atom::stats>::with<nlohmann::json>>;

struct executor_config {
  std::string node_id;
  handler_spec spec;
  size_t max_concurrency = 16;
  size_t max_queue = 1024;
  std::chrono::milliseconds default_deadline{5000};
  std::chrono::milliseconds max_deadline{60000};
  /// Makes the worker threads; null means `default_runner_factory`.
  job_runner_factory runner_factory;
  /// Set for a non-blocking function handler: calls run through it, on the
  /// caller's thread (the router's), and its counters are reported here.
  inline_call_ptr fast;
  /// Where ctx.heartbeat() of task deliveries goes (null: nowhere).
  task_heartbeat_sink heartbeat;
  /// Where each call's "execute" record goes (null: not recorded).
  trace_ring_ptr traces;
};

/// Spawns an executor for `cfg.spec`.
executor_actor spawn_handler_executor(caf::actor_system& sys,
                                      executor_config cfg);

} // namespace mesh
