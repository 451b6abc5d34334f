// The workflow runner's results: a step's answer (success, a retry after
// its backoff, or failure), a sub-workflow started and ended as one step of
// its parent, and the compensation of completed steps, latest first.

#include <caf/typed_event_based_actor.hpp>

#include "actors/workflows/workflow_runner_state.hpp"
#include "cluster/security/handshake.hpp"
#include "protocol/service_key.hpp"
#include "workflows/graph/workflow_refs.hpp"

namespace mesh::detail {

namespace {

// A call that no handler took: nothing ran anywhere.
bool no_node_took(const active_run& run, size_t step, status_code code,
                  const std::string& node) {
  return run.def->steps[step].kind == step_kind::call && node.empty()
         && (code == status_code::not_found || code == status_code::unavailable);
}

} // namespace

void workflow_runner_state::bound_outcome(step_outcome& out,
                                          const std::string& what) const {
  // The run's record keeps what it is given, and is read back after a
  // restart only within max_run_bytes: an answer larger than a request may
  // carry (a local handler's; a sub-workflow's output template) fails here,
  // in so many words, rather than leave a record the next start sets aside.
  if (out.code == status_code::ok) {
    auto why = bounded_output(out.output, cfg.max_payload_bytes, what);
    if (!why.empty()) {
      out.code = status_code::internal;
      out.output = nullptr;
      out.error = std::move(why);
    }
  }
  bound_error(out.error);
}

void workflow_runner_state::step_answered(const std::string& run_id,
                                          size_t step, uint32_t attempt,
                                          step_outcome out) {
  auto* run = find_run(run_id);
  if (run == nullptr || run->rec.steps[step].status != step_status::running
      || run->rec.steps[step].attempts != attempt) {
    ++counters.late_answers;
    return;
  }
  auto& st = run->rec.steps[step];
  if (draining && out.node.empty() && out.code != status_code::ok) {
    // The node is stopping under it (the router drains): no handler said
    // so. Not recorded: the next start treats the step as in flight.
    ++counters.late_answers;
    return;
  }
  bound_outcome(out, "the output of step " + run->def->steps[step].id);
  auto now = now_ms();
  st.node = std::move(out.node);
  if (tracing(cfg.traces))
    trace_step_result(*run, step, out);
  if (out.code == status_code::ok) {
    st.status = step_status::success;
    st.output = std::move(out.output);
    st.error.clear();
    st.error_status.clear();
    st.completed_ms = now;
    run->rec.completion_order.push_back(step);
    ++counters.steps_run;
    persist(*run);
    advance(run_id);
    return;
  }
  st.error = std::move(out.error);
  st.error_status = to_string(out.code);
  if (no_node_took(*run, step, out.code, st.node)
      && now < wall_base + cfg.rejoin_grace.count()) {
    // Not an attempt: nothing ran (a restarted node is still rejoining).
    st.status = step_status::pending;
    --st.attempts;
    run->retry_at[step] = now + 200;
    persist(*run);
    arm_tick();
    return;
  }
  const auto& retry = run->def->steps[step].retry;
  if (retry.retries(out.code) && st.attempts < retry.max_attempts) {
    auto due = now + retry.delay(st.attempts + 1).count();
    if (run->rec.deadline_ms == 0 || due < run->rec.deadline_ms) {
      // Pending again (nothing is in flight) until its backoff is over.
      st.status = step_status::pending;
      run->retry_at[step] = std::max<int64_t>(due, now + 1);
      ++counters.step_retries;
      persist(*run);
      arm_tick();
      return;
    }
  }
  st.status = step_status::failed;
  st.completed_ms = now;
  persist(*run);
  advance(run_id);
}

void workflow_runner_state::trace_step_result(const active_run& run,
                                              size_t step,
                                              const step_outcome& out) {
  const auto& st = run.rec.steps[step];
  const auto& id = run.def->steps[step].id;
  auto line = "step " + id + " attempt " + std::to_string(st.attempts) + " "
              + (out.code == status_code::ok ? "succeeded"
                                             : std::string{"failed with "}
                                                 + to_string(out.code))
              + (st.node.empty() ? "" : " on " + st.node)
              + (out.code == status_code::ok || out.error.empty()
                   ? ""
                   : ": " + out.error);
  cfg.traces->record(run.rec.trace_id, "workflow", std::move(line),
                     {{"run_id", run.rec.id},
                      {"step", id},
                      {"attempt", st.attempts},
                      {"status", to_string(out.code)},
                      {"node", st.node}},
                     std::chrono::milliseconds{now_ms() - st.started_ms});
}

void workflow_runner_state::start_child(active_run& run, size_t step,
                                        nlohmann::json input) {
  const auto& def = run.def->steps[step];
  auto& st = run.rec.steps[step];
  auto fail = [&](status_code code, std::string why) {
    step_answered(run.rec.id, step, st.attempts, {code, nullptr, std::move(why), {}});
  };
  if (run.depth + 1 > cfg.max_depth) {
    fail(status_code::invalid_argument,
         "sub-workflows nest deeper than " + std::to_string(cfg.max_depth));
    return;
  }
  auto child_def = defs.find(def.target);
  if (!child_def) {
    fail(status_code::not_found, "no workflow named " + def.target);
    return;
  }
  if (auto why = check_input(*child_def, input); !why.empty()) {
    fail(status_code::invalid_argument, std::move(why));
    return;
  }
  // Its params may quote many outputs: the child's input is a payload too.
  if (auto why = bounded_output(input, cfg.max_payload_bytes,
                                "the input of sub-workflow " + def.target);
      !why.empty()) {
    fail(status_code::invalid_argument, std::move(why));
    return;
  }
  // A child that was never stored (a crash before it started) starts again
  // under its id; any other attempt is a new child.
  auto id = st.detail.value("run", std::string{});
  bool reuse = false;
  if (!id.empty() && find_run(id) == nullptr && store) {
    try {
      reuse = !store->find(id).has_value();
    } catch (const std::exception&) {
      ++counters.store_failures;
    }
  }
  if (!reuse)
    id = random_hex_token().substr(0, 16);
  st.detail["run"] = id;
  persist(run); // the parent knows its child before the child exists
  auto parent_id = run.rec.id;
  auto attempt = st.attempts;
  if (start_run(child_def, std::move(input), run.rec.context,
                run.rec.trace_id, run.depth + 1, parent_id, def.id, id)
        .empty()) {
    step_answered(parent_id, step, attempt,
                  {status_code::unavailable, nullptr,
                   "the run store cannot write the sub-workflow's run", {}});
    return;
  }
  advance(id);
}

void workflow_runner_state::child_finished(const run_record& child) {
  auto* parent = find_run(child.parent_run);
  if (parent == nullptr)
    return;
  auto step = parent->def->index_of(child.parent_step);
  if (step >= parent->rec.steps.size())
    return;
  const auto& st = parent->rec.steps[step];
  if (st.detail.value("run", std::string{}) != child.id)
    return; // an earlier attempt's child
  step_outcome out;
  out.node = cfg.node_id;
  if (child.status == run_status::success) {
    out.output = child.output;
  } else {
    out.code = status_code::handler_error;
    out.error = "sub-workflow " + child.workflow + " run " + child.id
                + " ended " + to_string(child.status)
                + (child.error.empty() ? "" : ": " + child.error);
  }
  step_answered(parent->rec.id, step, st.attempts, std::move(out));
}

void workflow_runner_state::compensate_next(active_run& run) {
  if (run.to_compensate.empty())
    return;
  auto step = run.to_compensate.front();
  run.to_compensate.erase(run.to_compensate.begin());
  const auto& comp = *run.def->steps[step].compensate;
  auto& st = run.rec.steps[step];
  st.compensation = compensation_result{};
  st.compensation->started_ms = now_ms();
  auto id = run.rec.id;
  auto done = [this, id, step](step_outcome out) {
    auto* run = find_run(id);
    if (run == nullptr)
      return;
    auto& st = run->rec.steps[step];
    if (draining && out.node.empty() && out.code != status_code::ok)
      return; // stopping under it: the next start compensates again
    bound_outcome(out, "the output of the compensation of step "
                         + run->def->steps[step].id);
    auto& c = *st.compensation;
    c.status = to_string(out.code);
    c.output = std::move(out.output);
    c.error = std::move(out.error);
    c.node = std::move(out.node);
    c.completed_ms = now_ms();
    if (out.code == status_code::ok)
      st.status = step_status::compensated;
    ++counters.compensations;
    run->compensation_in_flight = false;
    persist(*run);
    advance(id);
  };
  run.compensation_in_flight = true;
  nlohmann::json params;
  auto key = parse_service_path(comp.call);
  auto router = cfg.router.get();
  try {
    params = resolve_references(comp.params,
                                reference_scope(*run.def, run.rec));
  } catch (const reference_error& e) {
    done({status_code::invalid_argument, nullptr,
          "compensate: " + std::string{e.what()}, {}});
    return;
  }
  if (!key || !router) {
    done({status_code::unavailable, nullptr, "no router", {}});
    return;
  }
  persist(run);
  auto deadline = comp.timeout.count() > 0 ? comp.timeout : cfg.step_deadline;
  auto req = call_request(*key, params, run.rec, deadline);
  self->request(router, deadline + answer_margin, std::move(req))
    .then(
      [done](pb::DispatchResponse& r) { done(dispatch_outcome(r)); },
      [done](caf::error& err) { done(failed_request(err, "the router")); });
}

} // namespace mesh::detail
