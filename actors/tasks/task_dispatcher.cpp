// task_dispatcher: loading the jobs, turning events into tasks, group
// commit, and the actor's behaviour. Opening the store is in
// task_store_open.cpp, delivery in task_delivery.cpp, reports in
// task_reports.cpp.

#include "actors/tasks/task_dispatcher.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/local_only.hpp"
#include "actors/tasks/task_dispatcher_state.hpp"
#include "protocol/status.hpp"
#include "tasks/event_json.hpp"

namespace mesh {

int64_t task_dispatcher_state::now_ms() const {
  auto elapsed = self->clock().now() - steady_base;
  return wall_base
         + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

nlohmann::json task_dispatcher_state::reload() {
  std::vector<std::string> kinds;
  if (cfg.functions)
    kinds = cfg.functions->kinds();
  nlohmann::json report;
  try {
    runtimes = make_runtime_table(cfg.runtimes, kinds);
  } catch (const std::exception& e) {
    return {{"loaded", nlohmann::json::array()},
            {"failed", {{{"file", "config: /runtimes"}, {"errors", {e.what()}}}}}};
  }
  auto check = [this](const std::string& kind, const std::string& target) {
    if (kind == "process") {
      if (cfg.process_exists && !cfg.process_exists(target))
        return "no process manifest named '" + target + "' on " + cfg.node_id;
      return std::string{};
    }
    if (kind == "mesh")
      return std::string{};
    return cfg.functions ? cfg.functions->check(kind, target)
                         : "no function registered for kind '" + kind + "'";
  };
  report = jobs.load(cfg.jobs_dir, runtimes, check);
  by_dataset.clear();
  for (auto& [id, jr] : per_job)
    jr.def = nullptr;
  for (const auto& [id, def] : jobs.active()) {
    per_job[id].def = def;
    for (const auto& in : def->inputs)
      by_dataset[in].push_back(id);
  }
  pressure.set_jobs(jobs.active());
  // New edges or bounds may unpause a job; before the first levels are
  // measured (at the start) nothing is known yet: the first tick decides.
  if (levels_measured)
    pressure_changed = true;
  log->info("jobs from {}: {} active, {} failed", cfg.jobs_dir,
            jobs.active().size(), report.value("failed", nlohmann::json::array()).size());
  for (const auto& f : report.value("failed", nlohmann::json::array()))
    log->error("job file {}", f.value("text", f.dump()));
  // Loads, but not as its author may think: heartbeats extend a lease, never
  // a mesh or process call, which the node cuts at its longest deadline
  // (function kinds run unbounded). The default lease is no one's intent.
  auto warnings = nlohmann::json::array();
  for (const auto& [id, def] : jobs.active())
    if (!def->lease_from.empty() && def->lease > cfg.max_deadline
        && (def->kind == "mesh" || def->kind == "process")) {
      auto max = std::to_string(cfg.max_deadline.count());
      auto text = "job " + id + ": lease_ms "
                  + std::to_string(def->lease.count()) + " (" + def->lease_from
                  + ") is longer than limits.max_deadline_ms " + max
                  + ": each attempt's call is cut at " + max + " ms";
      log->warn("{}", text);
      warnings.push_back({{"job", id}, {"text", std::move(text)}});
    }
  if (!warnings.empty())
    report["warnings"] = std::move(warnings);
  refresh_pauses();
  pump();
  return report;
}

void task_dispatcher_state::add_task(task_record t) {
  auto& jr = per_job[t.job];
  switch (t.state) {
    case task_state::held:
      jr.held.emplace(t.created_ms, t.id);
      break;
    case task_state::queued:
      jr.ready.push(t);
      break;
    case task_state::leased:
      jr.leased.insert(t.id);
      break;
    case task_state::dead:
      jr.dead.insert(t.id);
      break;
    case task_state::done:
      ++jr.done;
      return;
  }
  auto id = t.id;
  open.insert_or_assign(std::move(id), std::move(t));
}

void task_dispatcher_state::touch(const std::string& id) {
  dirty.insert(id);
  ++pending_changes;
  arm_flush();
}

nlohmann::json task_dispatcher_state::emit(const task_event& ev,
                                           bool internal) {
  size_t created = 0, skipped = 0, held = 0;
  auto ids = nlohmann::json::array();
  auto i = by_dataset.find(ev.dataset);
  if (i != by_dataset.end()) {
    auto now = now_ms();
    for (const auto& job : i->second) {
      auto& jr = per_job[job];
      if (!cursors.admit({job, ev.dataset, ev.partition}, ev.cursor, !internal,
                         batch.cursors)) {
        ++skipped;
        ++jr.skipped;
        continue;
      }
      task_record t;
      t.id = make_task_id(job, ev);
      if (open.count(t.id) != 0) {
        ++skipped;
        ++jr.skipped;
        continue;
      }
      t.job = job;
      t.event = ev;
      t.created_ms = now;
      t.due_ms = now;
      t.state = paused_by_pressure(job) ? task_state::held : task_state::queued;
      held += t.state == task_state::held ? 1 : 0;
      ++created;
      ++jr.created;
      ids.push_back(t.id);
      if (tracing(cfg.traces))
        cfg.traces->record(task_trace_id(t.id), "task",
                           "task created for job " + job + " from "
                             + ev.dataset + " (cursor "
                             + std::to_string(ev.cursor) + ")"
                             + (t.state == task_state::held
                                  ? ", held: the job is under backpressure"
                                  : ""),
                           {{"job", job},
                            {"dataset", ev.dataset},
                            {"partition", ev.partition},
                            {"cursor", ev.cursor},
                            {"internal", internal}});
      touch(t.id);
      add_task(std::move(t));
      update_pressure(job);
    }
  }
  pump();
  return {{"created", created}, {"skipped", skipped}, {"held", held},
          {"tasks", std::move(ids)}};
}

void task_dispatcher_state::arm_flush() {
  if (flush_armed)
    return;
  flush_armed = true;
  if (cfg.group_commit.count() == 0)
    self->send(self, atom::flush_v);
  else
    self->delayed_send(self, cfg.group_commit, atom::flush_v);
}

void task_dispatcher_state::flush() {
  flush_armed = false;
  // batch holds what left memory (done tasks, cursors, deletes, pauses);
  // open tasks are written as they are now.
  auto tasks_before = batch.tasks.size();
  for (const auto& id : dirty)
    if (auto i = open.find(id); i != open.end())
      batch.tasks.push_back(i->second);
  if (!batch.empty()) {
    try {
      store->commit(batch);
      ++commits;
    } catch (const std::exception& e) {
      // Kept: the next flush tries again; the emits waiting now are told.
      ++commit_failures;
      batch.tasks.resize(tasks_before);
      log->error("{}", e.what());
      for (auto& a : acks)
        a.promise.deliver(make_error(status_code::unavailable,
                                     std::string{"tasks not stored: "}
                                       + e.what()));
      acks.clear();
      // Try again, not in a tight loop (a full disk stays full a while).
      flush_armed = true;
      self->delayed_send(self, std::chrono::seconds{1}, atom::flush_v);
      return;
    }
  }
  batch.clear();
  dirty.clear();
  pending_changes = 0;
  for (auto& a : acks)
    a.promise.deliver(std::move(a.result));
  acks.clear();
}

void task_dispatcher_state::arm_tick() {
  if (tick_armed || draining)
    return;
  tick_armed = true;
  self->delayed_send(self, cfg.tick, atom::tick_v);
}

namespace {

tasks_actor::behavior_type
task_dispatcher(tasks_actor::stateful_pointer<task_dispatcher_state> self,
                task_dispatcher_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("tasks");
  st.wall_base = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  st.steady_base = self->clock().now();
  st.runner = cfg.runner ? cfg.runner : make_thread_runner("mesh-tasks", 4);
  st.cfg = std::move(cfg);
  if (auto err = st.open_store()) {
    // Ends at once (the supervisor sees why); the behaviour is never used.
    st.log->error("the task dispatcher of {} cannot start: {}",
                  st.cfg.node_id, error_text(err));
    self->quit(err);
  } else {
    if (!st.cfg.defer_load)
      st.reload();
    st.arm_tick();
  }
  auto local = [self] { return from_this_node(self); };
  using jres = caf::result<nlohmann::json>;
  return {
    [self, local](atom::emit, const nlohmann::json& doc) -> jres {
      if (!local())
        return refused_remote();
      auto& st = self->state;
      if (st.draining)
        return make_error(status_code::unavailable,
                          "node " + st.cfg.node_id + " is shutting down");
      // One event, or {"events": [...]}: all checked before any is taken.
      std::vector<task_event> events;
      if (auto err = parse_events(doc, events); !err.empty())
        return make_error(status_code::invalid_argument, err);
      nlohmann::json result;
      for (const auto& ev : events) {
        auto r = st.emit(ev, false);
        if (result.is_null()) {
          result = std::move(r);
          continue;
        }
        for (const char* k : {"created", "skipped", "held"})
          result[k] = result[k].get<size_t>() + r[k].get<size_t>();
        for (auto& id : r["tasks"])
          result["tasks"].push_back(std::move(id));
      }
      if (result["tasks"].size() > 1000) // a bulk emit: counts, not ids
        result.erase("tasks");
      auto rp = self->make_response_promise<nlohmann::json>();
      st.acks.push_back({rp, std::move(result)});
      if (st.pending_changes >= st.cfg.group_commit_max)
        st.flush();
      else
        st.arm_flush();
      return rp;
    },
    // Every request checks its sender first: the handle never leaves the
    // node, but a guessed actor id must not be enough (local_only.hpp).
    [self, local](atom::jobs) -> jres {
      if (!local())
        return refused_remote();
      return json_result(self->state.list_jobs());
    },
    [self, local](atom::jobs, const std::string& id) -> jres {
      if (!local())
        return refused_remote();
      auto doc = self->state.show_job(id);
      if (doc.is_null())
        return make_error(status_code::not_found,
                          "no job '" + id + "' on " + self->state.cfg.node_id);
      return json_result(std::move(doc));
    },
    [self](atom::tasks, const nlohmann::json& q) -> jres {
      return self->state.query_tasks(q);
    },
    [self, local](atom::dead, const std::string& job) -> jres {
      if (!local())
        return refused_remote();
      return self->state.dead_letters(job);
    },
    [self, local](atom::revive, const std::string& id) -> jres {
      if (!local())
        return refused_remote();
      return self->state.revive(id);
    },
    [self, local](atom::purge, const std::string& job) -> jres {
      if (!local())
        return refused_remote();
      return self->state.purge(job);
    },
    [self, local](atom::pause, const std::string& job, bool pause) -> jres {
      if (!local())
        return refused_remote();
      return self->state.set_paused(job, pause);
    },
    [self, local](atom::reload) -> jres {
      if (!local())
        return refused_remote();
      return json_result(self->state.reload());
    },
    [self](atom::heartbeat, const pb::TaskHeartbeat& hb) {
      if (from_this_node(self))
        self->state.beat(hb);
    },
    [self, local](atom::drain) -> caf::result<caf::ok_atom> {
      if (!local())
        return refused_remote();
      auto& st = self->state;
      st.draining = true;
      st.flush();
      return caf::ok_atom::value;
    },
    [self, local](atom::stats) -> jres {
      if (!local())
        return refused_remote();
      return json_result(self->state.stats());
    },
    [self, local](atom::flush) {
      if (local()) // own timer
        self->state.flush();
    },
    [self, local](atom::tick) {
      if (!local()) // own timer
        return;
      self->state.tick_armed = false;
      self->state.on_tick();
      self->state.arm_tick();
    },
    [self](atom::job_done, const std::string& id, uint32_t attempt,
           const nlohmann::json& outcome) {
      self->state.on_result(id, attempt, outcome);
    },
  };
}

} // namespace

tasks_actor spawn_task_dispatcher(caf::actor_system& sys,
                                  task_dispatcher_config cfg) {
  return sys.spawn(task_dispatcher, std::move(cfg));
}

} // namespace mesh
