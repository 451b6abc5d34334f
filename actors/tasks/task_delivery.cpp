// task_dispatcher: delivering tasks to their runtimes, taking their results,
// the reaper of expired leases, heartbeats and backpressure.

#include <algorithm>

#include <caf/send.hpp>

#include "actors/handlers/handler.hpp"
#include "actors/tasks/task_dispatcher_state.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/service_key.hpp"
#include "protocol/status.hpp"

namespace mesh {

namespace {

nlohmann::json outcome(status_code code, std::string error,
                       std::string node = {}, nlohmann::json payload = {}) {
  return {{"code", static_cast<int>(code)}, {"error", std::move(error)},
          {"node", std::move(node)}, {"payload", std::move(payload)}};
}

// A reply from the router or the evaluator as an outcome.
template <class Response>
nlohmann::json outcome_of(const Response& r, const std::string& node) {
  auto code = status_code_from_int(r.status().code())
                .value_or(status_code::internal);
  nlohmann::json payload;
  if (code == status_code::ok) {
    auto doc = any_to_json(r.payload());
    payload = doc ? std::move(*doc) : any_to_display_json(r.payload());
  }
  return outcome(code, r.status().message(), node, std::move(payload));
}

} // namespace

std::string task_trace_id(const std::string& task_id) {
  if (check_trace_id(task_id).empty())
    return task_id;
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : task_id)
    h = (h ^ c) * 1099511628211ull;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "task-";
  for (int i = 15; i >= 0; --i)
    out += digits[(h >> (i * 4)) & 0xF];
  return out;
}

void task_dispatcher_state::pump() {
  if (draining)
    return;
  auto now = now_ms();
  // Normal jobs first; backfill ones only while nothing is under pressure.
  for (int pass = 0; pass < 2; ++pass) {
    bool backfill = pass == 1;
    if (backfill && pressure.any())
      break;
    for (auto& [id, jr] : per_job) {
      if (!jr.def || jr.operator_paused
          || (jr.def->priority == job_priority::backfill) != backfill)
        continue;
      while (jr.leased.size() < jr.def->max_in_flight && !jr.ready.empty()
             && jr.ready.next_due() <= now) {
        auto task_id = jr.ready.pop();
        auto i = open.find(task_id);
        if (i != open.end())
          deliver(i->second, jr);
      }
    }
  }
}

void task_dispatcher_state::deliver(task_record& t, job_runtime& jr) {
  auto now = now_ms();
  const auto& def = *jr.def;
  task_machine::lease(t, now, def.lease.count());
  jr.leased.insert(t.id);
  last_beat[t.id] = now;
  touch(t.id);
  auto id = t.id;
  auto attempt = t.attempts;
  // The lease is the reaper's (heartbeats extend it); the call itself may
  // run up to the node's longest deadline.
  auto budget = cfg.max_deadline;
  pb::TaskInfo info;
  info.set_task_id(t.id);
  info.set_attempt(attempt);
  info.set_lease_deadline_ms(t.due_ms);
  info.set_queue_node(cfg.node_id);
  info.set_job(t.job);
  info.set_dataset(t.event.dataset);
  info.set_cursor(t.event.cursor);
  info.set_partition(t.event.partition);
  auto on_error = [self = self, id, attempt](const caf::error& err) {
    self->state.on_result(id, attempt,
                          outcome(to_status_code(err), error_text(err)));
  };
  // The router and the evaluator always answer; the timeout is a backstop.
  auto wait = budget + std::chrono::seconds{5};
  bool traced = tracing(cfg.traces);
  if (traced)
    cfg.traces->record(task_trace_id(t.id), "task",
                       "attempt " + std::to_string(attempt) + " delivered to "
                         + def.kind + " " + def.target,
                       {{"job", t.job},
                        {"attempt", attempt},
                        {"kind", def.kind},
                        {"target", def.target},
                        {"lease_ms", def.lease.count()}});
  if (def.kind == "mesh") {
    auto key = parse_service_path(def.target);
    pb::DispatchRequest req;
    req.mutable_ref()->set_namespace_(key->ns);
    req.mutable_ref()->set_service(key->service);
    req.mutable_ref()->set_method(key->method);
    *req.mutable_payload() = json_to_any(t.event.payload);
    req.set_deadline_ms(static_cast<uint32_t>(budget.count()));
    // Traced, the delivery's routing is recorded under the task id too.
    if (traced) {
      req.set_trace_id(task_trace_id(t.id));
      req.mutable_directives()->set_trace(true);
    }
    *req.mutable_task() = std::move(info);
    self->request(cfg.router.get(), wait, std::move(req))
      .then(
        [self = self, id, attempt](pb::DispatchResponse& r) {
          self->state.on_result(id, attempt, outcome_of(r, r.handled_by()));
        },
        on_error);
    return;
  }
  if (def.kind == "process") {
    pb::ProcessRequest req;
    req.set_process_name(def.target);
    req.set_trace_id(traced ? task_trace_id(t.id) : make_trace_id());
    req.set_deadline_ms(static_cast<uint32_t>(budget.count()));
    json_to_value(t.event.payload.is_null() ? nlohmann::json::object()
                                            : t.event.payload,
                  *req.mutable_input_args());
    json_to_value({{"task_id", t.id},
                   {"job", t.job},
                   {"attempt", attempt},
                   {"partition", t.event.partition}},
                  *req.mutable_user_context());
    auto evaluator = cfg.strategies.get();
    if (!evaluator) {
      self->send(self, atom::job_done_v, id, attempt,
                 outcome(status_code::unavailable,
                         "node " + cfg.node_id + " runs no process manifests"));
      return;
    }
    self->request(evaluator, wait, std::move(req))
      .then(
        [self = self, id, attempt](pb::ProcessResponse& r) {
          self->state.on_result(id, attempt, outcome_of(r, r.handled_by()));
        },
        on_error);
    return;
  }
  // A function: a `dispatcher` target or a plug-in's kind, on the runner.
  task_function fn;
  if (cfg.functions)
    fn = cfg.functions->find(def.kind, def.target);
  if (!fn) {
    self->send(self, atom::job_done_v, id, attempt,
               outcome(status_code::not_found,
                       "no function for " + def.kind + " target '"
                         + def.target + "' on " + cfg.node_id));
    return;
  }
  task_call call{def.kind,       def.target,        t.id,
                 attempt,        t.job,             t.event.dataset,
                 t.event.cursor, t.event.partition};
  runner->submit([me = caf::actor_cast<caf::actor>(self), fn, call,
                  payload = t.event.payload, node = cfg.node_id] {
    nlohmann::json result;
    try {
      result = outcome(status_code::ok, {}, node, fn(call, payload));
    } catch (const handler_failure& e) {
      result = outcome(e.code(), e.what(), node);
    } catch (const std::exception& e) {
      result = outcome(status_code::handler_error,
                       std::string{"task function failed: "} + e.what(), node);
    } catch (...) {
      result = outcome(status_code::handler_error,
                       "task function failed: an unknown exception", node);
    }
    caf::anon_send(me, atom::job_done_v, call.task_id, call.attempt,
                   std::move(result));
  });
}

void task_dispatcher_state::on_result(const std::string& id, uint32_t attempt,
                                      const nlohmann::json& out) {
  auto i = open.find(id);
  if (i == open.end() || i->second.state != task_state::leased
      || i->second.attempts != attempt)
    return; // an answer of an attempt that is no longer current
  auto& t = i->second;
  auto& jr = per_job[t.job];
  jr.leased.erase(id);
  last_beat.erase(id);
  auto now = now_ms();
  auto code = status_code_from_int(out.value("code", 0))
                .value_or(status_code::internal);
  if (code == status_code::ok) {
    if (tracing(cfg.traces))
      cfg.traces->record(task_trace_id(id), "task",
                         "attempt " + std::to_string(attempt) + " done on "
                           + out.value("node", std::string{"-"}),
                         {{"attempt", attempt},
                          {"node", out.value("node", "")},
                          {"status", "ok"}});
    task_machine::complete(t, attempt, now);
    undelivered.erase(id);
    ++jr.done;
    batch.tasks.push_back(t);
    ++pending_changes;
    arm_flush();
    auto done = std::move(t);
    open.erase(i);
    // The outputs are committed with the task's completion (one batch).
    if (jr.def)
      for (const auto& ds : jr.def->outputs)
        emit({ds, done.event.cursor, done.event.partition,
              out.value("payload", nlohmann::json())},
             true);
    pump();
    return;
  }
  ++jr.failures;
  attempt_record rec;
  rec.attempt = attempt;
  rec.status = out.contains("status") ? out["status"].get<std::string>()
                                      : std::string{to_string(code)};
  rec.error = out.value("error", "");
  rec.node = out.value("node", "");
  rec.at_ms = now;
  auto max_attempts = jr.def ? jr.def->max_attempts : attempt;
  // No node took it (no route yet: a restarted node still joining its
  // peers): the attempt does not count, up to a bound, so that a restart
  // does not use up attempts of healthy tasks.
  bool nothing_ran = rec.node.empty()
                     && (code == status_code::not_found
                         || code == status_code::unavailable);
  bool free_try = nothing_ran && undelivered[id] < max_free_tries;
  if (free_try) {
    ++undelivered[id];
    max_attempts = attempt + 1;
  }
  // Free tries back off further each time (the cluster may need a while).
  std::uniform_real_distribution<double> uni{0.0, 1.0};
  auto next = attempt + 1 + (free_try ? undelivered[id] - 1 : 0);
  auto backoff = jr.def ? jr.def->retry.delay(next, uni(rng)).count() : 0;
  auto state = task_machine::fail(t, attempt, std::move(rec), max_attempts,
                                  backoff, now);
  if (free_try && state == task_state::queued)
    --t.attempts; // the next delivery has the same number
  if (state != task_state::queued)
    undelivered.erase(id);
  if (tracing(cfg.traces) && state && !t.history.empty()) {
    const auto& last = t.history.back();
    std::string line = "attempt " + std::to_string(attempt) + " failed on "
                       + (last.node.empty() ? "-" : last.node) + " ("
                       + last.status + ": " + last.error + "); ";
    if (state == task_state::queued)
      line += free_try ? "no node took it: again in " + std::to_string(backoff)
                           + " ms, not counted"
                       : "retry in " + std::to_string(backoff) + " ms";
    else if (state == task_state::dead)
      line += "dead letter after " + std::to_string(attempt) + " of "
              + std::to_string(max_attempts) + " attempts";
    cfg.traces->record(task_trace_id(id), "task", std::move(line),
                       {{"attempt", attempt},
                        {"node", last.node},
                        {"status", last.status},
                        {"error", last.error},
                        {"backoff_ms", backoff},
                        {"free_try", free_try},
                        {"state", state == task_state::dead ? "dead" : "queued"}});
  }
  if (state == task_state::queued) {
    jr.ready.push(t);
    log->debug("task {} failed (attempt {}): {}; again in {} ms", id, attempt,
               t.history.back().error, backoff);
  } else if (state == task_state::dead) {
    jr.dead.insert(id);
    log->warn("task {} of job {} is a dead letter after {} attempts: {}", id,
              t.job, attempt, t.history.back().error);
  }
  touch(id);
  pump();
}

void task_dispatcher_state::on_tick() {
  auto now = now_ms();
  // The reaper: expired leases and silent tasks count as failed attempts.
  std::vector<std::pair<std::string, nlohmann::json>> expired;
  for (auto& [job, jr] : per_job) {
    for (const auto& id : jr.leased) {
      auto& t = open.at(id);
      auto beat_age = now - last_beat[id];
      bool silent = jr.def && jr.def->heartbeat.count() > 0
                    && beat_age > jr.def->heartbeat.count();
      if (now <= t.due_ms && !silent)
        continue;
      ++jr.expired;
      auto why = silent ? "no heartbeat for " + std::to_string(beat_age) + " ms"
                        : std::string{"the lease expired without an answer"};
      auto o = outcome(status_code::deadline_exceeded, why);
      o["status"] = "lease_expired";
      expired.emplace_back(id, std::move(o));
    }
  }
  for (auto& [id, o] : expired)
    on_result(id, open.at(id).attempts, o);
  for (auto& [job, jr] : per_job) {
    jr.oldest_age_ms = jr.ready.oldest_age(now);
    update_pressure(job);
  }
  if (!levels_measured) { // the first since the start: see pressure_changed
    levels_measured = true;
    pressure_changed = true;
  }
  refresh_pauses();
  pump();
  prune_done(now);
}

void task_dispatcher_state::prune_done(int64_t now) {
  auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(
                cfg.done_retention).count();
  if (keep <= 0 || now < next_prune_ms)
    return;
  next_prune_ms = now + std::min<int64_t>(keep, 60000);
  try {
    size_t n = 0;
    for (const auto& [job, k] : store->prune_done(now - keep, cfg.prune_batch))
      n += k;
    pruned += n;
    if (n == 0)
      return;
    log->info("{} done tasks older than {} s removed from the store", n,
              cfg.done_retention.count());
    if (n >= cfg.prune_batch) // more to go: again at the next tick
      next_prune_ms = now;
  } catch (const std::exception& e) {
    log->warn("cannot remove done tasks: {}", e.what());
  }
}

void task_dispatcher_state::update_pressure(const std::string& job) {
  auto& jr = per_job[job];
  if (pressure.update(job, {jr.ready.size(), jr.oldest_age_ms}))
    pressure_changed = true;
}

bool task_dispatcher_state::paused_by_pressure(const std::string& job) const {
  return !pressure.paused_by(job).empty();
}

void task_dispatcher_state::refresh_pauses() {
  if (!pressure_changed)
    return;
  pressure_changed = false;
  auto now = now_ms();
  for (auto& [job, jr] : per_job) {
    if (jr.held.empty() || paused_by_pressure(job))
      continue;
    log->info("job {}: pressure cleared, {} kept events become tasks", job,
              jr.held.size());
    for (const auto& [created, id] : jr.held) {
      auto& t = open.at(id);
      task_machine::release(t, now);
      jr.ready.push(t);
      touch(id);
    }
    jr.held.clear();
  }
}

void task_dispatcher_state::beat(const pb::TaskHeartbeat& hb) {
  auto i = open.find(hb.task_id());
  if (i == open.end())
    return;
  auto& jr = per_job[i->second.job];
  if (!jr.def)
    return;
  if (task_machine::extend(i->second, hb.attempt(), now_ms(),
                           jr.def->lease.count())) {
    last_beat[hb.task_id()] = now_ms();
    ++heartbeats;
  }
}

} // namespace mesh
