#pragma once

// workflow_runner: workflows (seed 003) inside the node. It loads the
// definitions of the workflows folder and runs them: steps start in DAG
// order (at most max_parallel at once per run), each step is a request
// through the dispatch pipeline (a `call` through the router, so policies,
// hooks, retries and hedging apply, and it runs wherever its handler is),
// `${...}` references are resolved as the step starts, and a run's start,
// each step's start (unless its handler is idempotent), each step's result
// and the end are written to the run store before anything depends on
// them. A run the store cannot write is refused; a later failed write is
// logged and counted (`store_failures`).
//
// Shutdown (atom::drain). Nothing new starts; callers waiting for a run
// get `unavailable`; failures that no handler reported (the node stopping
// under a step) are not recorded, so the next start resumes the run.
//
// Failure. A step that fails is retried by its `retry`; then under `stop`
// nothing more starts, the running steps are awaited, and the `compensate`
// calls of the steps that succeeded run latest first; under `continue`
// only its dependents are skipped. A run past its timeout ends `timed_out`
// and a cancelled run `cancelled`; both compensate, whatever the failure
// policy. For 10 s after the runner starts (`rejoin_grace`: a restarted
// node is still rejoining its peers), a call that no node took is tried
// again without using an attempt.
//
// Crashes. At start the runner resumes every run the store holds as
// running: completed steps keep their results; a step that was running is
// run again when its handler is idempotent (known when it started) and
// otherwise fails with "interrupted by a node restart", and the run's
// failure policy applies.
//
// Protocol (workflows_actor below); JSON in and out, local senders only:
//   (atom::workflows)                -> json   every definition, its load status
//   (atom::workflows, std::string)   -> json   one definition in full
//   (atom::reload)                   -> json   what changed in the folder
//   (atom::run, json request)        -> json   the finished run (to_json), or
//        with "async": true at once {"run_id", "trace_id", "status"}.
//        request: {"workflow": NAME | "definition": {...}, "input"?,
//        "context"?, "trace_id"?, "async"?}
//   (atom::runs, json query)         -> json   {"runs": [summary...]}
//        query: {"workflow"?, "status"?, "limit"?}
//   (atom::runs, std::string id)     -> json   one run (to_json)
//   (atom::cancel, std::string id)   -> json   the run as it ends
//   (atom::drain)                    -> caf::ok_atom   // stops starting steps
//   (atom::stats)                    -> json
// Errors: invalid_argument (input against input_schema, listing every
// violation; malformed request), not_found (unknown workflow or run),
// unavailable (store failure, draining).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "telemetry/trace_ring.hpp"
#include "actors/actor_slot.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "tasks/store/task_store.hpp"

namespace mesh {

using workflows_actor = caf::typed_actor<
  caf::replies_to<atom::workflows>::with<nlohmann::json>,
  caf::replies_to<atom::workflows, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::reload>::with<nlohmann::json>,
  caf::replies_to<atom::run, nlohmann::json>::with<nlohmann::json>,
  caf::replies_to<atom::runs, nlohmann::json>::with<nlohmann::json>,
  caf::replies_to<atom::runs, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::cancel, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  caf::reacts_to<atom::tick>>; // own timer: deadlines and retry backoff

/// How long a caller (the console, meshctl) waits for a run to end: by
/// default and at most (its "wait_ms"); the console adds `console_margin`
/// so that the runner's own answer at the limit wins over its timeout, and
/// meshctl waits longer still.
struct run_wait {
  static constexpr int64_t default_ms = 300000;
  static constexpr int64_t max_ms = 86400000;
  static constexpr int64_t console_margin_ms = 2000;
};

struct workflow_runner_config {
  std::string node_id;
  std::string workflows_dir;
  std::string store_path;
  sync_mode sync = sync_mode::normal;
  /// limits.max_payload_bytes: a step's output, a compensation's and a
  /// run's own above it fail (a run's record stays within what the store
  /// reads back), and it bounds the stored runs the runner loads
  /// (open_sqlite_run_store); 0: no bound.
  size_t max_payload_bytes = 0;
  size_t max_parallel = 8;   ///< steps of one run at once, unless it says
  size_t history = 1000;     ///< finished runs kept in the store
  size_t max_depth = 8;      ///< nested sub-workflows
  std::chrono::milliseconds step_deadline{30000}; ///< a step with no timeout
  std::chrono::milliseconds tick{50}; ///< timers' resolution
  /// After the runner starts (a node restart), a `call` that no node took
  /// (not_found or unavailable before any handler ran: the node is still
  /// rejoining its peers) is tried again every 200 ms without using an
  /// attempt, until this much time has passed.
  std::chrono::milliseconds rejoin_grace{10000};
  actor_slot<router_actor> router;
  actor_slot<strategies_actor> strategies;
  actor_slot<topics_actor> topics;
  actor_slot<tasks_actor> tasks;
  /// Where each run's steps go, under the run's trace id (null: not
  /// recorded).
  trace_ring_ptr traces;
};

/// Spawns the runner; it opens the store, loads the definitions and
/// resumes unfinished runs first, and fails (the error in its exit reason)
/// when the store cannot be opened.
workflows_actor spawn_workflow_runner(caf::actor_system& sys,
                                      workflow_runner_config cfg);

} // namespace mesh
