#pragma once

// The state of the task_dispatcher (task_dispatcher.cpp: loading, events,
// group commit; task_delivery.cpp: delivery, results, reaper, pressure;
// task_reports.cpp: what meshctl sees and the operator's commands).

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actor_names.hpp"
#include "actors/guarded_promise.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "tasks/store/cursor_table.hpp"
#include "tasks/jobs/job_set.hpp"
#include "tasks/jobs/pressure_graph.hpp"
#include "tasks/store/task_store.hpp"
#include "telemetry/log.hpp"

namespace mesh {

/// Tasks ordered by a time, then id (held: by age).
using task_queue = std::set<std::pair<int64_t, std::string>>;

/// Queued tasks by due time, then id; their creation times are kept beside
/// them so the age of the oldest is read at once (the tick and `jobs` ask
/// for it; a walk over a queue of 100,000 tasks each time was the
/// dispatcher's largest cost under load).
class ready_queue {
public:
  bool empty() const {
    return by_due_.empty();
  }
  size_t size() const {
    return by_due_.size();
  }
  /// The due time of the first task; the queue is not empty.
  int64_t next_due() const {
    return by_due_.begin()->first.first;
  }
  /// Removes the first task and says which; the queue is not empty.
  std::string pop() {
    auto i = by_due_.begin();
    created_.erase(created_.find(i->second));
    auto id = std::move(i->first.second);
    by_due_.erase(i);
    return id;
  }
  void push(const task_record& t) {
    if (by_due_.emplace(std::pair{t.due_ms, t.id}, t.created_ms).second)
      created_.insert(t.created_ms);
  }
  /// How long the oldest queued task has existed at `now` (0 when none).
  int64_t oldest_age(int64_t now) const {
    return created_.empty() ? 0 : std::max<int64_t>(0, now - *created_.begin());
  }

private:
  std::map<std::pair<int64_t, std::string>, int64_t> by_due_; ///< -> created
  std::multiset<int64_t> created_;
};

/// One job as the dispatcher runs it. A job removed from the folder keeps
/// its entry (def null) while it still has open tasks, which then wait.
struct job_runtime {
  job_ptr def;
  ready_queue ready;           ///< queued
  task_queue held;             ///< events kept under backpressure
  std::set<std::string> leased; ///< in flight
  std::set<std::string> dead;
  bool operator_paused = false;
  uint64_t done = 0;           ///< loaded from the store, then counted
  uint64_t unreadable = 0;     ///< rows the store could not read at start
  uint64_t created = 0;
  uint64_t skipped = 0;        ///< events not past the committed cursor
  uint64_t failures = 0;       ///< failed attempts (retried or not)
  uint64_t expired = 0;        ///< leases that ran out
  int64_t oldest_age_ms = 0;   ///< of the oldest queued task, at the last tick
};

/// An emit waiting for its tasks to be committed.
struct pending_ack {
  caf::typed_response_promise<nlohmann::json> promise;
  nlohmann::json result;
};

struct task_dispatcher_state {
  static inline const char* name = actor_names::task_dispatcher;

  tasks_actor::stateful_pointer<task_dispatcher_state> self = nullptr;
  task_dispatcher_config cfg;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<task_store> store;
  runtime_table runtimes;
  job_set jobs;
  pressure_graph pressure;
  std::map<std::string, job_runtime> per_job;
  std::map<std::string, std::vector<std::string>> by_dataset; ///< -> jobs
  std::unordered_map<std::string, task_record> open; ///< not done
  std::unordered_map<std::string, int64_t> last_beat; ///< leased: ms
  cursor_table cursors;
  /// Failed deliveries that no node took (not counted as attempts).
  std::unordered_map<std::string, uint32_t> undelivered;
  static constexpr uint32_t max_free_tries = 20;

  // -- group commit ----------------------------------------------------------
  store_batch batch;
  std::set<std::string> dirty; ///< open tasks to write
  std::vector<pending_ack> acks;
  bool flush_armed = false;
  size_t pending_changes = 0;

  // -- the rest --------------------------------------------------------------
  bool draining = false;
  bool tick_armed = false;
  std::mt19937_64 rng{std::random_device{}()};
  int64_t wall_base = 0;
  caf::actor_clock::time_point steady_base;
  job_runner_ptr runner;
  /// Held events are looked at again only when this is set: a job's
  /// pressure changed, the jobs were reloaded, or the levels were measured
  /// for the first time since the start (events held at a stop must not
  /// wait for a change that may never come).
  bool pressure_changed = false;
  bool levels_measured = false; ///< every job's level fed once since start
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t heartbeats = 0;
  uint64_t pruned = 0;        ///< done tasks removed for their age
  int64_t next_prune_ms = 0;

  /// Emits waiting for a commit when the dispatcher dies are answered
  /// `unavailable` (their events may not be stored: emit them again).
  ~task_dispatcher_state() {
    auto who = "the task dispatcher of node " + cfg.node_id;
    for (auto& a : acks)
      answer_unanswered(a.promise, who);
  }

  /// Wall-clock milliseconds, advanced by the actor's clock (so simulated
  /// time in tests moves leases and backoff).
  int64_t now_ms() const;

  // task_dispatcher.cpp
  caf::error open_store();
  nlohmann::json reload();
  nlohmann::json emit(const task_event& ev, bool internal);
  void add_task(task_record t);
  void touch(const std::string& id);
  void arm_flush();
  void flush();
  void arm_tick();

  // task_delivery.cpp
  void pump();
  void deliver(task_record& t, job_runtime& jr);
  void on_result(const std::string& id, uint32_t attempt,
                 const nlohmann::json& outcome);
  void on_tick();
  void prune_done(int64_t now);
  void update_pressure(const std::string& job);
  void refresh_pauses();
  void beat(const pb::TaskHeartbeat& hb);
  bool paused_by_pressure(const std::string& job) const;

  // task_reports.cpp
  caf::result<nlohmann::json> query_tasks(const nlohmann::json& q);
  caf::result<nlohmann::json> dead_letters(const std::string& job) const;
  caf::result<nlohmann::json> revive(const std::string& id);
  caf::result<nlohmann::json> purge(const std::string& job);
  caf::result<nlohmann::json> set_paused(const std::string& job, bool pause);
  nlohmann::json list_jobs() const;
  nlohmann::json show_job(const std::string& id) const;
  nlohmann::json describe_job(const std::string& id,
                              const job_runtime& jr) const;
  nlohmann::json stats() const;
};

/// A task as meshctl shows it.
nlohmann::json task_to_json(const task_record& t);

/// The trace id of a task: its id, or for an id no trace id may be (a
/// partition with spaces or slashes, over 128 characters) "task-" and 16
/// hex digits of its FNV-1a hash, the same on every node.
std::string task_trace_id(const std::string& task_id);

} // namespace mesh
