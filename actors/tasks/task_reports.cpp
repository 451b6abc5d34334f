// task_dispatcher: what meshctl sees (jobs, tasks, dead letters) and the
// operator's commands (pause, resume, dead-letter retry and purge).

#include <algorithm>

#include "actors/tasks/task_dispatcher_state.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/status.hpp"
#include "tasks/task_json.hpp"

namespace mesh {

nlohmann::json task_to_json(const task_record& t) {
  return {{"id", t.id},
          {"job", t.job},
          {"state", to_string(t.state)},
          {"attempts", t.attempts},
          {"dataset", t.event.dataset},
          {"cursor", t.event.cursor},
          {"partition", t.event.partition},
          {"payload", t.event.payload},
          {"created_ms", t.created_ms},
          {"due_ms", t.due_ms},
          {"history", history_to_json(t.history)}};
}

nlohmann::json task_dispatcher_state::describe_job(const std::string& id,
                                                   const job_runtime& jr) const {
  auto oldest = jr.ready.oldest_age(now_ms());
  auto by = nlohmann::json::array();
  if (jr.operator_paused)
    by.push_back("operator");
  for (const auto& j : pressure.paused_by(id))
    by.push_back("backpressure from " + j);
  bool backfill = jr.def && jr.def->priority == job_priority::backfill;
  nlohmann::json doc{
    {"id", id},
    {"status", jr.def ? "active" : "removed"},
    {"queued", jr.ready.size()},
    {"held", jr.held.size()},
    {"leased", jr.leased.size()},
    {"in_flight", jr.leased.size()},
    {"done", jr.done},
    {"dead", jr.dead.size()},
    {"unreadable", jr.unreadable},
    {"created", jr.created},
    {"skipped", jr.skipped},
    {"failures", jr.failures},
    {"expired_leases", jr.expired},
    {"oldest_age_ms", oldest},
    {"paused", !by.empty()},
    {"paused_by", std::move(by)},
    {"under_pressure", pressure.pressured(id)},
    {"backfill_held", backfill && pressure.any() ? jr.ready.size() : 0}};
  if (jr.def) {
    const auto& d = *jr.def;
    doc["runtime"] = d.runtime;
    doc["kind"] = d.kind;
    doc["target"] = d.target;
    doc["inputs"] = d.inputs;
    doc["outputs"] = d.outputs;
    doc["priority"] = d.priority == job_priority::backfill ? "backfill" : "normal";
    doc["max_in_flight"] = d.max_in_flight;
    doc["file"] = d.file;
  }
  return doc;
}

nlohmann::json task_dispatcher_state::list_jobs() const {
  auto list = nlohmann::json::array();
  for (const auto& [id, jr] : per_job)
    list.push_back(describe_job(id, jr));
  auto failed = nlohmann::json::array();
  for (const auto& [file, err] : jobs.errors())
    failed.push_back({{"file", file}, {"error", err.to_string()}});
  return {{"jobs", std::move(list)},
          {"failed", std::move(failed)},
          {"dir", cfg.jobs_dir},
          {"store", store ? store->location() : ""},
          {"done_retention_s", cfg.done_retention.count()},
          {"pruned", pruned}};
}

nlohmann::json task_dispatcher_state::show_job(const std::string& id) const {
  auto i = per_job.find(id);
  if (i == per_job.end())
    return nullptr;
  auto doc = describe_job(id, i->second);
  if (i->second.def)
    doc["definition"] = i->second.def->source;
  return doc;
}

caf::result<nlohmann::json>
task_dispatcher_state::query_tasks(const nlohmann::json& q) {
  auto job = q.value("job", std::string{});
  if (per_job.count(job) == 0)
    return make_error(status_code::not_found,
                      "no job '" + job + "' on " + cfg.node_id);
  std::optional<task_state> state;
  if (auto s = q.value("state", std::string{}); !s.empty()) {
    state = task_state_from_string(s);
    if (!state)
      return make_error(status_code::invalid_argument,
                        "unknown task state '" + s
                          + "' (held, queued, leased, done, dead)");
  }
  auto limit = q.value("limit", 100);
  if (limit <= 0 || limit > 100000)
    return make_error(status_code::invalid_argument,
                      "limit must be between 1 and 100000");
  // Write what is pending first, so the store's answer is current.
  flush();
  try {
    auto list = nlohmann::json::array();
    std::vector<unreadable_task> unreadable;
    for (const auto& t :
         store->list(job, state, static_cast<size_t>(limit), &unreadable)) {
      // The store holds the last committed state; memory may be newer.
      auto i = open.find(t.id);
      list.push_back(task_to_json(i != open.end() ? i->second : t));
    }
    // A row the store cannot read is shown for what it is, not left out:
    // it is still in the file, and not delivered.
    for (auto& u : unreadable)
      list.push_back({{"id", std::move(u.id)},
                      {"job", std::move(u.job)},
                      {"state", "unreadable"},
                      {"error", std::move(u.why)}});
    return json_result(std::move(list));
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
}

caf::result<nlohmann::json>
task_dispatcher_state::dead_letters(const std::string& job) const {
  if (!job.empty() && per_job.count(job) == 0)
    return make_error(status_code::not_found,
                      "no job '" + job + "' on " + cfg.node_id);
  auto list = nlohmann::json::array();
  for (const auto& [id, jr] : per_job)
    if (job.empty() || id == job)
      for (const auto& tid : jr.dead)
        list.push_back(task_to_json(open.at(tid)));
  return json_result(std::move(list));
}

caf::result<nlohmann::json> task_dispatcher_state::revive(const std::string& id) {
  auto i = open.find(id);
  if (i == open.end() || i->second.state != task_state::dead)
    return make_error(status_code::not_found,
                      "no dead letter '" + id + "' on " + cfg.node_id);
  auto& t = i->second;
  auto& jr = per_job[t.job];
  task_machine::revive(t, now_ms());
  jr.dead.erase(id);
  jr.ready.push(t);
  touch(id);
  log->info("dead letter {} of job {} queued again", id, t.job);
  pump();
  return json_result(task_to_json(t));
}

caf::result<nlohmann::json> task_dispatcher_state::purge(const std::string& job) {
  auto j = per_job.find(job);
  if (j == per_job.end())
    return make_error(status_code::not_found,
                      "no job '" + job + "' on " + cfg.node_id);
  auto ids = nlohmann::json::array();
  for (const auto& id : j->second.dead) {
    open.erase(id);
    dirty.erase(id);
    batch.deleted.push_back(id);
    ids.push_back(id);
  }
  j->second.dead.clear();
  ++pending_changes;
  arm_flush();
  log->warn("{} dead letters of job {} purged", ids.size(), job);
  return json_result({{"purged", ids.size()}, {"tasks", std::move(ids)}});
}

caf::result<nlohmann::json>
task_dispatcher_state::set_paused(const std::string& job, bool pause) {
  auto j = per_job.find(job);
  if (j == per_job.end() || !j->second.def)
    return make_error(status_code::not_found,
                      "no job '" + job + "' on " + cfg.node_id);
  j->second.operator_paused = pause;
  batch.paused[job] = pause;
  ++pending_changes;
  arm_flush();
  log->info("job {} {} by an operator", job, pause ? "paused" : "resumed");
  if (!pause)
    pump();
  return json_result(describe_job(job, j->second));
}

nlohmann::json task_dispatcher_state::stats() const {
  size_t queued = 0, leased = 0, dead = 0, held = 0;
  uint64_t done = 0, unreadable = 0;
  for (const auto& [id, jr] : per_job) {
    unreadable += jr.unreadable;
    queued += jr.ready.size();
    leased += jr.leased.size();
    dead += jr.dead.size();
    held += jr.held.size();
    done += jr.done;
  }
  return {{"jobs", jobs.active().size()}, {"queued", queued},
          {"leased", leased},             {"held", held},
          {"dead", dead},                 {"done", done},
          {"commits", commits},           {"commit_failures", commit_failures},
          {"heartbeats", heartbeats},     {"pruned", pruned},
          {"unreadable", unreadable}};
}

} // namespace mesh
