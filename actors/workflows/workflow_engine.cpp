// The workflow runner's engine: starting a run, moving it on as steps end,
// stopping it (failure under `stop`, timeout, cancel), compensating, the
// end, and resuming the runs a crash interrupted. What to do next is
// decided by workflows/runs/workflow_run.hpp; this file applies it.

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include "actors/workflows/workflow_runner_state.hpp"
#include "cluster/security/handshake.hpp"
#include "protocol/request_checks.hpp"
#include "workflows/graph/workflow_refs.hpp"

namespace mesh::detail {

namespace {

bool any_running(const run_record& rec) {
  return std::any_of(rec.steps.begin(), rec.steps.end(), [](const auto& s) {
    return s.status == step_status::running;
  });
}

} // namespace

int64_t workflow_runner_state::now_ms() const {
  auto elapsed = self->clock().now() - steady_base;
  return wall_base
         + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

active_run* workflow_runner_state::find_run(const std::string& id) {
  auto i = runs.find(id);
  return i == runs.end() ? nullptr : &i->second;
}

std::string workflow_runner_state::start_run(workflow_ptr def,
                                             nlohmann::json input,
                                             nlohmann::json context,
                                             std::string trace_id,
                                             size_t depth,
                                             std::string parent_run,
                                             std::string parent_step,
                                             std::string id) {
  if (id.empty())
    id = random_hex_token().substr(0, 16);
  if (trace_id.empty())
    trace_id = make_trace_id();
  active_run run;
  run.rec = make_run(*def, id, std::move(trace_id), std::move(input),
                     std::move(context), now_ms());
  run.rec.parent_run = std::move(parent_run);
  run.rec.parent_step = std::move(parent_step);
  run.retry_at.assign(def->steps.size(), 0);
  run.def = std::move(def);
  run.depth = depth;
  ++counters.started;
  auto& stored = runs.insert_or_assign(id, std::move(run)).first->second;
  if (!persist(stored)) {
    // A run that is not written down would not survive a crash: refused.
    runs.erase(id);
    return {};
  }
  log->info("workflow {} run {} started (trace {})", stored.rec.workflow, id,
            stored.rec.trace_id);
  if (tracing(cfg.traces))
    cfg.traces->record(stored.rec.trace_id, "workflow",
                       "workflow " + stored.rec.workflow + " run " + id
                         + " started",
                       {{"run_id", id},
                        {"workflow", stored.rec.workflow},
                        {"depth", depth}});
  arm_tick();
  return id;
}

void workflow_runner_state::advance(const std::string& id) {
  // A copy: callers may pass the id inside the run record, which a nested
  // advance() may erase.
  const auto run_id = id;
  auto* run = find_run(run_id);
  if (run == nullptr || run->rec.finished())
    return;
  if (run->rec.ending != run_status::running) {
    // Stopping: the steps still running end first, then compensation.
    if (!any_running(run->rec) && !run->compensation_in_flight) {
      if (run->to_compensate.empty())
        finish(*run, run->rec.ending);
      else if (!draining) // the next start compensates
        compensate_next(*run);
    }
    return;
  }
  // Shutting down: nothing new starts (the next start resumes the run),
  // but a run whose last step has just ended still ends.
  for (bool again = !draining; again;) {
    again = false;
    if (!skip_unreachable(*run->def, run->rec).empty())
      persist(*run);
    auto now = now_ms();
    for (auto s : ready_steps(*run->def, run->rec, cfg.max_parallel)) {
      if (run->retry_at[s] > now)
        continue; // waiting for its backoff
      start_step(*run, s);
      // A step that ended at once (skipped, a reference that does not
      // resolve, a sub-workflow that could not start or ended at once) may
      // free others; its answer may also have moved the run on, or ended
      // and erased it, through a nested advance(): look the run up again
      // and compute what is ready afresh.
      run = find_run(run_id);
      if (run == nullptr || run->rec.finished()
          || run->rec.ending != run_status::running)
        return;
      if (run->rec.steps[s].status != step_status::running) {
        again = true;
        break;
      }
    }
  }
  const auto& def = *run->def;
  auto& rec = run->rec;
  if (!run_settled(def, rec, cfg.max_parallel))
    return;
  auto status = settled_status(def, rec);
  if (status == run_status::failed)
    end_run(*run, status, first_failure(def, rec));
  else
    finish(*run, status);
}

void workflow_runner_state::stop_run(active_run& run, run_status status,
                                     const std::string& why) {
  if (run.rec.finished() || run.rec.ending != run_status::running)
    return;
  auto now = now_ms();
  std::vector<std::string> children;
  for (size_t i = 0; i < run.rec.steps.size(); ++i) {
    auto& st = run.rec.steps[i];
    // Running, or between two attempts (waiting for its backoff).
    if (st.status == step_status::running
        || (st.status == step_status::pending && run.retry_at[i] > 0)) {
      st.status = step_status::failed;
      st.error = why;
      st.error_status = status == run_status::timed_out ? "deadline_exceeded"
                                                        : "cancelled";
      st.completed_ms = now;
      if (auto child = st.detail.find("run"); child != st.detail.end()
                                              && child->is_string())
        children.push_back(child->get<std::string>());
    }
    run.retry_at[i] = 0;
  }
  // A sub-workflow stops with its parent; its end no longer concerns the
  // parent's step, which has just failed.
  for (const auto& id : children)
    if (auto* child = find_run(id))
      stop_run(*child, status, why);
  end_run(run, status, why);
}

void workflow_runner_state::end_run(active_run& run, run_status status,
                                    std::string error) {
  run.rec.ending = status;
  if (run.rec.error.empty())
    run.rec.error = std::move(error);
  // A failure compensates under `stop`; a cancel or a timeout always does
  // (the run will not finish, whatever its failure policy).
  if (run.def->on_failure == failure_mode::stop || status != run_status::failed)
    run.to_compensate = compensation_order(*run.def, run.rec);
  run.rec.compensating = !run.to_compensate.empty();
  persist(run);
  advance(run.rec.id);
}

void workflow_runner_state::finish(active_run& run, run_status status) {
  auto& rec = run.rec;
  rec.status = status;
  rec.ending = run_status::running;
  rec.compensating = false;
  rec.completed_ms = now_ms();
  // Every step succeeded but the output they were for cannot be kept: the
  // run did not deliver.
  if ((status == run_status::success || status == run_status::partial)
      && !fill_output(*run.def, rec, cfg.max_payload_bytes)
      && status == run_status::success)
    rec.status = status = run_status::failed;
  if (status == run_status::partial && rec.error.empty())
    rec.error = first_failure(*run.def, rec);
  persist(run);
  if (status == run_status::success)
    ++counters.succeeded;
  else
    ++counters.failed;
  log->info("workflow {} run {} ended {} in {} ms{}{}", rec.workflow, rec.id,
            to_string(status), rec.completed_ms - rec.started_ms,
            rec.error.empty() ? "" : ": ", rec.error);
  if (tracing(cfg.traces))
    cfg.traces->record(rec.trace_id, "workflow",
                       "workflow " + rec.workflow + " run " + rec.id + " ended "
                         + to_string(status)
                         + (rec.error.empty() ? "" : ": " + rec.error),
                       {{"run_id", rec.id}, {"status", to_string(status)}},
                       std::chrono::milliseconds{rec.completed_ms
                                                 - rec.started_ms});
  auto doc = to_json(rec);
  for (auto& waiter : run.waiters)
    waiter.deliver(doc);
  auto ended = std::move(rec);
  runs.erase(ended.id); // `run` is gone from here on
  if (store && ++finished_since_trim >= 16) {
    finished_since_trim = 0;
    try {
      store->trim(cfg.history);
    } catch (const std::exception& e) {
      ++counters.store_failures;
      log->error("workflow runs: {}", e.what());
    }
  }
  if (!ended.parent_run.empty())
    child_finished(ended);
}

bool workflow_runner_state::persist(const active_run& run) {
  if (!store)
    return true;
  try {
    store->save(run.rec);
    return true;
  } catch (const std::exception& e) {
    ++counters.store_failures;
    log->error("workflow run {}: {}", run.rec.id, e.what());
    return false;
  }
}

void workflow_runner_state::on_tick() {
  auto now = now_ms();
  std::vector<std::string> late;
  std::vector<std::string> due;
  for (auto& [id, run] : runs) {
    if (run.rec.deadline_ms > 0 && now >= run.rec.deadline_ms
        && run.rec.ending == run_status::running) {
      late.push_back(id);
      continue;
    }
    for (auto& at : run.retry_at)
      if (at > 0 && at <= now) {
        at = 0;
        due.push_back(id);
      }
  }
  // Stopping or advancing a run may end it (and others): look each up again.
  for (const auto& id : late)
    if (auto* run = find_run(id))
      stop_run(*run, run_status::timed_out,
               "the run timed out after "
                 + std::to_string(run->def->timeout.count()) + " ms");
  for (const auto& id : due)
    advance(id);
}

void workflow_runner_state::resume_all() {
  std::vector<run_record> recs;
  try {
    std::vector<unreadable_run> unreadable; // logged by the store
    recs = store->load_unfinished(&unreadable);
    counters.unreadable = unreadable.size();
  } catch (const std::exception& e) {
    ++counters.store_failures;
    log->error("workflow runs: cannot resume: {}", e.what());
    return;
  }
  std::vector<std::string> ids;
  for (auto& rec : recs) {
    auto parsed = parse_workflow(rec.definition, "run " + rec.id);
    std::string why;
    if (auto* err = std::get_if<manifest_load_error>(&parsed))
      why = "its definition no longer checks: " + err->to_string();
    else if (std::get<workflow_ptr>(parsed)->steps.size() != rec.steps.size())
      why = "its record does not match its definition (damaged)";
    if (!why.empty()) {
      // One damaged run must not keep the others (or the runner) down.
      rec.status = run_status::failed;
      rec.error = "cannot resume: " + why;
      rec.completed_ms = now_ms();
      try {
        store->save(rec);
      } catch (const std::exception&) {
        ++counters.store_failures;
      }
      continue;
    }
    active_run run;
    run.def = std::get<workflow_ptr>(parsed);
    run.retry_at.assign(run.def->steps.size(), 0);
    run.rec = std::move(rec);
    auto now = now_ms();
    for (size_t i = 0; i < run.rec.steps.size(); ++i) {
      auto& st = run.rec.steps[i];
      if (st.status != step_status::running
          || run.def->steps[i].kind == step_kind::workflow)
        continue;
      // In flight at the crash: it may or may not have run (unless it was
      // still waiting to learn whether it may run twice).
      if (st.idempotent || st.detail.contains("asking")) {
        st.detail.erase("asking");
        st.status = step_status::pending;
      } else {
        st.status = step_status::failed;
        st.error = "interrupted by a node restart";
        st.error_status = "unavailable";
        st.completed_ms = now;
      }
    }
    ids.push_back(run.rec.id);
    runs.insert_or_assign(run.rec.id, std::move(run));
    ++counters.resumed;
  }
  // A child's depth is its parent's + 1 (parents are older, so loaded).
  for (const auto& id : ids) {
    auto& run = runs.at(id);
    size_t depth = 0;
    for (auto* up = find_run(run.rec.parent_run); up != nullptr && depth < 64;
         up = find_run(up->rec.parent_run))
      ++depth;
    run.depth = depth;
  }
  // Sub-workflow steps: the child run goes on (resumed above) and tells its
  // parent; a child that ended already gives its result now; one that was
  // never stored starts again under the same id.
  std::vector<run_record> ended_children;
  for (const auto& id : ids) {
    auto& run = runs.at(id);
    for (size_t i = 0; i < run.rec.steps.size(); ++i) {
      auto& st = run.rec.steps[i];
      if (st.status != step_status::running
          || run.def->steps[i].kind != step_kind::workflow)
        continue;
      auto child = st.detail.value("run", std::string{});
      if (find_run(child) != nullptr)
        continue;
      std::optional<run_record> stored;
      try {
        stored = store->find(child);
      } catch (const std::exception&) {
        ++counters.store_failures;
      }
      if (stored && stored->finished())
        ended_children.push_back(std::move(*stored));
      else
        st.status = step_status::pending;
    }
  }
  log->info("workflow runs: {} resumed from {}", ids.size(), store->location());
  for (const auto& child : ended_children)
    child_finished(child);
  for (const auto& id : ids) {
    auto* run = find_run(id);
    if (run == nullptr)
      continue;
    if (run->rec.ending != run_status::running)
      run->to_compensate = compensation_order(*run->def, run->rec);
    persist(*run);
    advance(id);
  }
  arm_tick();
}

} // namespace mesh::detail
