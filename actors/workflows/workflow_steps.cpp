// The workflow runner's steps: resolving a step's references, sending its
// attempt to the actor that runs its kind (router, strategy evaluator,
// topic dispatcher, task dispatcher, or this runner for a sub-workflow),
// and turning the answer into the step's result, with retries. Every
// answer is checked against the attempt it belongs to: a late answer of an
// attempt that is no longer current (the run was cancelled or timed out,
// the step was retried) changes nothing.

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include "actors/workflows/workflow_runner_state.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/service_key.hpp"
#include "topics/dispatch_status.hpp"
#include "workflows/graph/workflow_refs.hpp"

namespace mesh::detail {

namespace {

// The run's context as the string map requests carry.
void fill_context(const nlohmann::json& ctx,
                  google::protobuf::Map<std::string, std::string>& out) {
  if (!ctx.is_object())
    return;
  for (auto& [k, v] : ctx.items())
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
}

template <class Response>
status_code code_of(const Response& r) {
  return status_code_from_int(r.status().code()).value_or(status_code::internal);
}

nlohmann::json payload_json(const google::protobuf::Any& any) {
  auto j = any_to_json(any);
  return j ? std::move(*j) : any_to_display_json(any);
}

// A publish's result as a step's: its seed-004 status mapped to ours.
step_outcome publish_outcome(const pb::PublishResponse& r) {
  nlohmann::json out{{"dispatch_id", r.dispatch_id()},
                     {"status", r.status()},
                     {"outputs", nlohmann::json::array()},
                     {"output_count", r.output_count()},
                     {"dispatchers", r.dispatchers_size()}};
  for (const auto& o : r.outputs())
    out["outputs"].push_back(o);
  auto st = parse_dispatch_status(r.status()).value_or(
    dispatch_status::dispatcher_error);
  if (is_successful(st))
    return {status_code::ok, std::move(out), {}, {}};
  auto code = st == dispatch_status::timeout      ? status_code::deadline_exceeded
              : st == dispatch_status::no_dispatcher ? status_code::not_found
              : st == dispatch_status::publish_failed ? status_code::unavailable
              : st == dispatch_status::invalid_message
                ? status_code::invalid_argument
                : status_code::handler_error;
  auto why = r.error_message().empty() ? "publish ended " + r.status()
                                       : r.error_message();
  return {code, std::move(out), std::move(why), {}};
}

} // namespace

step_outcome failed_request(const caf::error& err, const char* what) {
  auto code = to_status_code(err);
  if (err.category() == status_category)
    return {code, nullptr, error_text(err), {}};
  if (code == status_code::deadline_exceeded)
    return {code, nullptr, std::string{what} + " did not answer in time", {}};
  return {status_code::unavailable, nullptr,
          std::string{what} + " is not available", {}};
}

pb::DispatchRequest call_request(const service_key& key,
                                 const nlohmann::json& params,
                                 const run_record& run,
                                 std::chrono::milliseconds deadline) {
  pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_(key.ns);
  req.mutable_ref()->set_service(key.service);
  req.mutable_ref()->set_method(key.method);
  *req.mutable_payload() = json_to_any(params);
  req.set_trace_id(run.trace_id);
  req.mutable_directives()->set_trace(true); // a run's steps are traced whole
  req.set_deadline_ms(static_cast<uint32_t>(deadline.count()));
  fill_context(run.context, *req.mutable_context());
  return req;
}

step_outcome dispatch_outcome(const pb::DispatchResponse& r) {
  return {code_of(r), payload_json(r.payload()), r.status().message(),
          r.handled_by()};
}

std::chrono::milliseconds
workflow_runner_state::step_deadline(const active_run& run, size_t step) const {
  auto own = run.def->steps[step].timeout;
  auto d = own.count() > 0 ? own : cfg.step_deadline;
  if (run.rec.deadline_ms > 0) {
    auto left = std::chrono::milliseconds{run.rec.deadline_ms - now_ms()};
    d = std::max(std::chrono::milliseconds{1}, std::min(d, left));
  }
  return d;
}

void workflow_runner_state::fail_now(active_run& run, size_t step,
                                     status_code code, std::string error) {
  auto& st = run.rec.steps[step];
  st.status = step_status::failed;
  st.error = std::move(error);
  st.error_status = to_string(code);
  if (st.started_ms == 0)
    st.started_ms = now_ms();
  st.completed_ms = now_ms();
  persist(run);
}

void workflow_runner_state::start_step(active_run& run, size_t step) {
  const auto& def = run.def->steps[step];
  auto& st = run.rec.steps[step];
  auto scope = reference_scope(*run.def, run.rec);
  if (!def.when.empty()) {
    try {
      if (!evaluate_condition(def.when, scope)) {
        st.status = step_status::skipped;
        st.error = "when " + def.when + " is not true";
        st.started_ms = st.completed_ms = now_ms();
        persist(run);
        return;
      }
    } catch (const reference_error& e) {
      fail_now(run, step, status_code::invalid_argument,
               "step " + def.id + ": when: " + e.what());
      return;
    }
  }
  nlohmann::json params;
  try {
    params = resolve_references(def.params, scope);
  } catch (const reference_error& e) {
    fail_now(run, step, status_code::invalid_argument,
             "step " + def.id + ": " + e.what());
    return;
  }
  st.status = step_status::running;
  if (st.started_ms == 0)
    st.started_ms = now_ms();
  ++st.attempts;
  if (tracing(cfg.traces))
    cfg.traces->record(run.rec.trace_id, "workflow",
                       "step " + def.id + " (" + to_string(def.kind) + " "
                         + def.target + ") attempt "
                         + std::to_string(st.attempts) + " started",
                       {{"run_id", run.rec.id},
                        {"step", def.id},
                        {"kind", to_string(def.kind)},
                        {"target", def.target},
                        {"attempt", st.attempts}});
  dispatch_step(run, step, std::move(params));
}

void workflow_runner_state::dispatch_step(active_run& run, size_t step,
                                          nlohmann::json params) {
  const auto& def = run.def->steps[step];
  auto& st = run.rec.steps[step];
  auto id = run.rec.id;
  auto attempt = st.attempts;
  auto deadline = step_deadline(run, step);
  auto wait = deadline + answer_margin;
  auto answered = [this, id, step, attempt](step_outcome out) {
    step_answered(id, step, attempt, std::move(out));
  };
  auto failed = [answered](const char* what) {
    return [answered, what](caf::error& err) {
      answered(failed_request(err, what));
    };
  };
  switch (def.kind) {
    case step_kind::call: {
      auto cached = idempotent_cache.find(def.target);
      if (cached != idempotent_cache.end() && cached->second.second > now_ms()) {
        st.idempotent = cached->second.first;
        // In flight from here on: written down first unless it may run
        // twice (then a crash runs it again either way).
        if (!st.idempotent)
          persist(run);
        send_call(id, step, attempt, def.target, std::move(params), deadline);
        return;
      }
      // Whether it may run twice decides what a crash does to it: ask
      // before it runs, and write it down before it is sent.
      auto router = cfg.router.get();
      if (!router) {
        answered({status_code::unavailable, nullptr, "no router", {}});
        return;
      }
      // Not sent yet: should the run be written meanwhile (another step
      // ends) and the node crash, the step is pending, not in flight.
      st.detail["asking"] = true;
      self->request(router, wait, atom::idempotent_v, def.target)
        .then(
          [this, id, step, attempt, deadline, target = def.target,
           params = std::move(params)](int32_t flag) mutable {
            if (flag >= 0)
              idempotent_cache[target] = {flag == 1, now_ms() + 10000};
            auto* run = find_run(id);
            if (run == nullptr || run->rec.steps[step].attempts != attempt
                || run->rec.steps[step].status != step_status::running)
              return;
            auto& st = run->rec.steps[step];
            st.detail.erase("asking");
            // Unknown (-1: nobody serves it yet) keeps what was known.
            if (flag >= 0)
              st.idempotent = flag == 1;
            if (!st.idempotent)
              persist(*run);
            send_call(id, step, attempt, target, std::move(params), deadline);
          },
          failed("the router"));
      return;
    }
    case step_kind::process: {
      persist(run);
      auto strategies = cfg.strategies.get();
      if (!strategies) {
        answered({status_code::unavailable, nullptr, "no strategy evaluator", {}});
        return;
      }
      pb::ProcessRequest req;
      req.set_process_name(def.target);
      json_to_value(params, *req.mutable_input_args());
      json_to_value(run.rec.context, *req.mutable_user_context());
      req.set_trace_id(run.rec.trace_id);
      req.set_deadline_ms(static_cast<uint32_t>(deadline.count()));
      self->request(strategies, wait, std::move(req))
        .then(
          [answered](pb::ProcessResponse& r) {
            answered({code_of(r), payload_json(r.payload()),
                      r.status().message(), r.handled_by()});
          },
          failed("the strategy evaluator"));
      return;
    }
    case step_kind::publish: {
      persist(run);
      auto topics = cfg.topics.get();
      if (!topics) {
        answered({status_code::unavailable, nullptr, "no topic dispatcher", {}});
        return;
      }
      pb::PublishRequest req;
      req.set_topic(def.target);
      req.set_category("event");
      req.set_trace_id(run.rec.trace_id);
      req.set_trace(true); // a run's steps are traced whole
      req.set_deadline_ms(static_cast<uint32_t>(deadline.count()));
      json_to_value(params, *req.mutable_payload());
      self->request(topics, wait, std::move(req))
        .then([answered](pb::PublishResponse& r) { answered(publish_outcome(r)); },
              failed("the topic dispatcher"));
      return;
    }
    case step_kind::emit: {
      // The cursor is fixed at the first attempt: an emit sent again after
      // a crash is the same event, which the task dispatcher skips.
      if (!st.detail.contains("cursor"))
        st.detail["cursor"] = now_ms() * 1000 + static_cast<int64_t>(step);
      st.idempotent = true;
      persist(run);
      auto tasks = cfg.tasks.get();
      if (!tasks) {
        answered({status_code::unavailable, nullptr,
                  "node " + cfg.node_id + " has no jobs (start it with --jobs DIR)",
                  {}});
        return;
      }
      nlohmann::json ev{{"dataset", def.target},
                        {"cursor", st.detail["cursor"]},
                        {"payload", std::move(params)}};
      self->request(tasks, wait, atom::emit_v, std::move(ev))
        .then(
          [answered, node = cfg.node_id](nlohmann::json& r) {
            answered({status_code::ok, std::move(r), {}, node});
          },
          failed("the task dispatcher"));
      return;
    }
    case step_kind::workflow:
      start_child(run, step, std::move(params));
      return;
  }
}

void workflow_runner_state::send_call(const std::string& run_id, size_t step,
                                      uint32_t attempt, const std::string& path,
                                      nlohmann::json params,
                                      std::chrono::milliseconds deadline) {
  auto* run = find_run(run_id);
  auto router = cfg.router.get();
  if (run == nullptr)
    return;
  auto key = parse_service_path(path);
  if (!router || !key) {
    step_answered(run_id, step, attempt,
                  {status_code::unavailable, nullptr, "no router", {}});
    return;
  }
  auto req = call_request(*key, params, run->rec, deadline);
  self->request(router, deadline + answer_margin, std::move(req))
    .then(
      [this, run_id, step, attempt](pb::DispatchResponse& r) {
        step_answered(run_id, step, attempt, dispatch_outcome(r));
      },
      [this, run_id, step, attempt](caf::error& err) {
        step_answered(run_id, step, attempt, failed_request(err, "the router"));
      });
}

} // namespace mesh::detail
