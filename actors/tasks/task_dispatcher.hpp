#pragma once

// task_dispatcher: durable tasks (seed 002). Events become tasks for the
// jobs whose inputs name their dataset; tasks are delivered at least once
// to each job's target, retried with backoff, dead-lettered after
// max_attempts, and kept in a SQLite store so that a crash loses nothing.
//
// Events. An emit is acknowledged only once its tasks are committed (group
// commit: the changes of many messages share one transaction, flushed after
// `group_commit` or at `group_commit_max` changes). An event whose cursor
// is not past the job's committed cursor for that (dataset, partition) is
// skipped and counted. Events from a task's success (the job's outputs)
// carry the task's cursor and partition and the handler's answer as payload.
//
// Delivery. A job's runtime names a kind: `mesh` dispatches through the
// router (anywhere in the cluster), `process` runs a process manifest
// through the strategy evaluator, `dispatcher` and plug-in kinds call a
// registered function on worker threads. The call carries the task id,
// attempt, lease deadline and event (pb::TaskInfo); a handler extends its
// lease with ctx.heartbeat(), from any node. At most max_in_flight tasks of
// a job run at once; normal jobs are served before backfill ones.
//
// Failure. An error, a timeout or a lost node puts a task back with
// backoff; a lease that expires (or no heartbeat within heartbeat_ms) does
// the same (the reaper runs every `tick`); after max_attempts the task is a
// dead letter keeping every attempt's error, node and time, until an
// operator retries or purges it. A late answer of an attempt that is no
// longer current is ignored.
//
// Backpressure. A job past max_queue_depth or max_queue_age pauses task
// creation for every job upstream of it (tasks/jobs/pressure_graph.hpp): their
// events are kept as `held` tasks and released once the pressure clears.
// While any job is under pressure, backfill jobs are not delivered.
//
// Protocol (tasks_actor below); JSON in and out, local senders only:
//   (atom::emit, json event)        -> json {"created", "skipped", "held", "tasks"}
//        event: {"dataset", "cursor", "partition"?, "payload"?}, or
//        {"events": [event, ...]} (tasks/event_json.hpp; "tasks" only up
//        to 1000)
//   (atom::jobs)                    -> json   every job, its counts and status
//   (atom::jobs, std::string id)    -> json   one job in full
//   (atom::tasks, json query)       -> json   {"job", "state"?, "limit"?}
//   (atom::dead, std::string job)   -> json   dead letters ("" : all jobs)
//   (atom::revive, std::string id)  -> json   dead letter back to queued
//   (atom::purge, std::string job)  -> json   drops the job's dead letters
//   (atom::pause, std::string job, bool pause) -> json
//   (atom::reload)                  -> json   what changed in the jobs folder
//   (atom::heartbeat, pb::TaskHeartbeat)   // from handlers, here or remote
//   (atom::drain)                   -> caf::ok_atom  // store flushed; stops
//   (atom::stats)                   -> json
// Errors: invalid_argument (malformed event or query), not_found (unknown
// job or task), unavailable (draining, store failure).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "telemetry/trace_ring.hpp"
#include "actors/actor_slot.hpp"
#include "actors/handlers/job_runner.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "tasks/store/task_store.hpp"

namespace mesh {

using tasks_actor = caf::typed_actor<
  caf::replies_to<atom::emit, nlohmann::json>::with<nlohmann::json>,
  caf::replies_to<atom::jobs>::with<nlohmann::json>,
  caf::replies_to<atom::jobs, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::tasks, nlohmann::json>::with<nlohmann::json>,
  caf::replies_to<atom::dead, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::revive, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::purge, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::pause, std::string, bool>::with<nlohmann::json>,
  caf::replies_to<atom::reload>::with<nlohmann::json>,
  caf::reacts_to<atom::heartbeat, pb::TaskHeartbeat>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  // Its own messages: timers and results of function kinds.
  caf::reacts_to<atom::flush>,
  caf::reacts_to<atom::tick>,
  caf::reacts_to<atom::job_done, std::string, uint32_t, nlohmann::json>>;

/// What a function kind gets for one task.
struct task_call {
  std::string kind;
  std::string target;
  std::string task_id;
  uint32_t attempt = 0;
  std::string job;
  std::string dataset;
  int64_t cursor = 0;
  std::string partition;
};

/// A function that runs tasks: returns the answer (the payload of the
/// job's outputs) or throws (handler_failure for a specific status).
using task_function
  = std::function<nlohmann::json(const task_call&, const nlohmann::json&)>;

/// Functions registered by plug-ins: `dispatcher` targets by name, and
/// whole kinds. Shared by the node (which fills it) and the dispatcher.
class task_functions {
public:
  /// Throws std::invalid_argument for an empty or duplicate name.
  void add_dispatcher(const std::string& name, task_function fn);
  void add_kind(const std::string& kind, task_function fn);

  /// The function for `kind` and `target` (null when there is none).
  task_function find(const std::string& kind, const std::string& target) const;

  /// The kinds: built-ins and plug-ins'.
  std::vector<std::string> kinds() const;

  /// Empty if `target` exists for `kind`, else why not.
  std::string check(const std::string& kind, const std::string& target) const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, task_function> dispatchers_;
  std::map<std::string, task_function> kinds_;
};

using task_functions_ptr = std::shared_ptr<task_functions>;

struct task_dispatcher_config {
  std::string node_id;
  std::string jobs_dir;
  std::string store_path;
  sync_mode sync = sync_mode::full;
  /// A stored payload larger than this is not loaded (limits.max_payload_bytes).
  size_t max_payload_bytes = 4 * 1024 * 1024;
  nlohmann::json runtimes = nlohmann::json::object(); ///< config's "runtimes"
  std::chrono::milliseconds group_commit{2}; ///< 0: when the mailbox is empty
  size_t group_commit_max = 1000;
  std::chrono::milliseconds tick{100}; ///< reaper and pressure
  /// How long done tasks stay in the store (0: forever). Pruned at most
  /// once a minute (or once per retention when shorter), up to
  /// prune_batch tasks at a time.
  std::chrono::seconds done_retention{std::chrono::hours{24 * 7}};
  size_t prune_batch = 10000;
  std::chrono::milliseconds max_deadline{60000}; ///< of one delivery
  actor_slot<router_actor> router;
  actor_slot<strategies_actor> strategies;
  task_functions_ptr functions;
  job_runner_ptr runner; ///< runs function kinds; null: a pool of 4 threads
  /// Loads the jobs only on (atom::reload), not at spawn (the node's first
  /// dispatcher: plug-ins register task functions after it spawns).
  bool defer_load = false;
  /// Knows the processes for `process` targets (null: any name passes).
  std::function<bool(const std::string&)> process_exists;
  /// Where each task's life goes (created, delivered, retried, dead), under
  /// the task id, which is also the trace id of its deliveries (null: not
  /// recorded; deliveries then get a fresh trace id each).
  trace_ring_ptr traces;
};

/// Spawns the dispatcher; it opens the store and loads the jobs first, and
/// fails (the error in its exit reason) when the store cannot be opened.
tasks_actor spawn_task_dispatcher(caf::actor_system& sys,
                                  task_dispatcher_config cfg);

} // namespace mesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mesh::task_functions_ptr)
