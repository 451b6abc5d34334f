#include "actors/handlers/handler_executor_state.hpp"

#include <algorithm>
#include <string>

#include <caf/send.hpp>

#include "actors/guarded_promise.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh::detail {

namespace {

bool is_traced(const pb::ServeRequest& req) {
  return req.traced();
}

bool is_traced(const pb::DispatchRequest& req) {
  return req.directives().trace();
}

template <class Request>
executor_call make_call_from(executor_state& st, const Request& req,
                             bool as_dispatch) {
  executor_call call;
  call.id = st.next_id++;
  call.promise = st.self->make_response_promise();
  call.reply_as_dispatch = as_dispatch;
  call.received = st.now();
  call.traced = is_traced(req);
  call.ctx.key = st.cfg.spec.key;
  call.ctx.trace_id = req.trace_id();
  call.ctx.node_id = st.cfg.node_id;
  call.ctx.origin_node = req.origin_node();
  call.ctx.hops = req.hops();
  call.ctx.deadline = call.received + st.deadline_budget(req.deadline_ms());
  set_task_context(call.ctx, req.task(), req.has_task(), st.cfg.heartbeat);
  for (const auto& [k, v] : req.context())
    call.ctx.context.emplace(k, v);
  call.payload = req.payload();
  return call;
}

} // namespace

executor_state::~executor_state() {
  auto who = "the executor of " + to_string(cfg.spec.key) + " on node "
             + cfg.node_id;
  for (auto& c : queued)
    answer_unanswered(c.promise, who);
  for (auto& [id, c] : running)
    answer_unanswered(c.promise, who);
  for (auto& w : drain_waiters)
    answer_unanswered(w, who);
}

std::chrono::milliseconds
executor_state::deadline_budget(uint32_t requested_ms) const {
  auto budget = requested_ms == 0 ? cfg.default_deadline
                                  : std::chrono::milliseconds{requested_ms};
  auto cap = cfg.spec.options.max_deadline.count() > 0
               ? cfg.spec.options.max_deadline
               : cfg.max_deadline;
  return std::min(budget, cap);
}

void executor_state::count(status_code code) {
  if (code == status_code::ok)
    ++ok;
  else if (code == status_code::deadline_exceeded)
    ++timeouts;
  else if (code != status_code::overloaded)
    ++failed;
}

executor_call executor_state::make_call(const pb::ServeRequest& req,
                                        bool as_dispatch) {
  return make_call_from(*this, req, as_dispatch);
}

executor_call executor_state::make_call(const pb::DispatchRequest& req,
                                        bool as_dispatch) {
  return make_call_from(*this, req, as_dispatch);
}

void executor_state::accept(executor_call call) {
  ++calls;
  if (retiring) {
    finish(call, {status_code::unavailable,
                  "handler " + to_string(cfg.spec.key) + " on " + cfg.node_id
                    + " was removed",
                  {}});
    return;
  }
  if (running.size() < cfg.spec.options.max_concurrency) {
    start(std::move(call));
  } else if (queued.size() < cfg.spec.options.max_queue) {
    queued.push_back(std::move(call));
    arm_sweep(queued.back().ctx.deadline);
  } else {
    ++rejected;
    finish(call, {status_code::overloaded,
                  "handler " + to_string(cfg.spec.key) + " on " + cfg.node_id
                    + " is overloaded: "
                    + std::to_string(cfg.spec.options.max_concurrency)
                    + " running and " + std::to_string(queued.size())
                    + " queued",
                  {}});
  }
}

void executor_state::start(executor_call call) {
  auto id = call.id;
  arm_sweep(call.ctx.deadline);
  if (cfg.spec.kind == handler_kind::actor) {
    pb::ServeRequest req;
    to_service_ref(call.ctx.key, *req.mutable_ref());
    req.set_trace_id(call.ctx.trace_id);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      call.ctx.deadline - now());
    req.set_deadline_ms(
      static_cast<uint32_t>(std::max<int64_t>(left.count(), 1)));
    req.set_hops(call.ctx.hops);
    req.set_origin_node(call.ctx.origin_node);
    for (const auto& [k, v] : call.ctx.context)
      (*req.mutable_context())[k] = v;
    *req.mutable_payload() = std::move(call.payload);
    auto ctx = call.ctx;
    running.emplace(id, std::move(call));
    ++running_unanswered;
    self->request(cfg.spec.actor, caf::infinite, atom::handle_v, std::move(req))
      .then(
        [this, id](google::protobuf::Any& result) {
          completed(id, {status_code::ok, {}, std::move(result)});
        },
        [this, id, ctx](caf::error& err) {
          completed(id, outcome_from_error(err, ctx));
        });
    return;
  }
  auto job = [fn = cfg.spec.fn, ctx = call.ctx, payload = call.payload,
              handle = caf::actor_cast<caf::actor>(self), id]() {
    auto out = run_handler(fn, ctx, payload);
    caf::anon_send(handle, atom::job_done_v, id, std::move(out));
  };
  running.emplace(id, std::move(call));
  ++running_unanswered;
  if (!runner) // a non-blocking handler that blocked (inline_call.hpp)
    runner = cfg.runner_factory(cfg.spec.options.max_concurrency);
  runner->submit(std::move(job));
}

void executor_state::completed(uint64_t id, handler_outcome out) {
  auto i = running.find(id);
  if (i == running.end())
    return;
  if (i->second.answered) {
    ++late_results; // the caller already got deadline_exceeded
  } else {
    --running_unanswered;
    finish(i->second, std::move(out));
  }
  running.erase(i);
  start_queued();
  check_drained();
}

void executor_state::start_queued() {
  while (!queued.empty()
         && running.size() < cfg.spec.options.max_concurrency) {
    auto call = std::move(queued.front());
    queued.pop_front();
    start(std::move(call));
  }
}

void executor_state::finish(executor_call& call, handler_outcome out) {
  call.answered = true;
  auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
    now() - call.received);
  if (cfg.fast) { // demoted: its counters stay with the fast path's
    cfg.fast->record(out.code, took);
  } else {
    latency.record(static_cast<uint64_t>(took.count()));
    count(out.code);
  }
  if (call.traced && tracing(cfg.traces)) // the record of running it
    cfg.traces->record(
      call.ctx.trace_id, "execute",
      "handler " + to_string(cfg.spec.key) + " answered " + to_string(out.code),
      {{"path", to_string(cfg.spec.key)},
       {"status", to_string(out.code)},
       {"error", out.message}},
      std::chrono::duration_cast<std::chrono::microseconds>(took));
  if (out.code != status_code::ok)
    log->debug("trace={} {} answered {}: {}", call.ctx.trace_id,
               to_string(cfg.spec.key), to_string(out.code), out.message);
  // The answer in the caller's own message: the same fields either way.
  auto fill = [&](auto& r) {
    r.mutable_status()->set_code(static_cast<pb::StatusCode>(out.code));
    r.mutable_status()->set_message(std::move(out.message));
    *r.mutable_payload() = std::move(out.payload);
    r.set_trace_id(call.ctx.trace_id);
  };
  if (call.reply_as_dispatch) {
    pb::DispatchResponse r;
    fill(r);
    r.set_handled_by(cfg.node_id);
    call.promise.deliver(std::move(r));
  } else {
    pb::ServeResponse r;
    fill(r);
    r.set_executor_id(cfg.node_id);
    call.promise.deliver(std::move(r));
  }
}

handler_outcome
executor_state::expired_outcome(const executor_call& call) const {
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
    call.ctx.deadline - call.received);
  return {status_code::deadline_exceeded,
          "handler " + to_string(cfg.spec.key) + " on " + cfg.node_id
            + " did not answer within " + std::to_string(waited.count())
            + " ms",
          {}};
}

void executor_state::arm_sweep(executor_clock::time_point deadline) {
  // A millisecond late: the call is surely past its deadline by then.
  sweeps.arm(self, deadline, now(), std::chrono::milliseconds{1});
}

void executor_state::sweep() {
  sweeps.fired();
  auto now = this->now();
  auto next = executor_clock::time_point::max();
  for (auto& [id, call] : running) {
    if (call.answered)
      continue;
    if (call.ctx.deadline <= now) {
      --running_unanswered;
      finish(call, expired_outcome(call));
    } else {
      next = std::min(next, call.ctx.deadline);
    }
  }
  // Actor handlers hold no thread of ours: free their slots at once.
  if (cfg.spec.kind == handler_kind::actor) {
    for (auto i = running.begin(); i != running.end();)
      i = i->second.answered ? running.erase(i) : std::next(i);
  }
  for (auto i = queued.begin(); i != queued.end();) {
    if (i->ctx.deadline <= now) {
      finish(*i, expired_outcome(*i));
      i = queued.erase(i);
    } else {
      next = std::min(next, i->ctx.deadline);
      ++i;
    }
  }
  start_queued();
  if (next != executor_clock::time_point::max())
    arm_sweep(next);
  check_drained();
}

void executor_state::check_drained() {
  if (pending() != 0)
    return;
  for (auto& rp : drain_waiters)
    rp.deliver(caf::ok_atom::value);
  drain_waiters.clear();
  if (retiring && running.empty())
    self->quit();
}

nlohmann::json executor_state::stats() const {
  if (cfg.fast) {
    auto result = cfg.fast->stats();
    result["handler"] = to_string(cfg.spec.key);
    result["kind"] = to_string(cfg.spec.kind);
    result["non_blocking"] = true;
    // Demoted (inline_call.hpp): what only the executor sees.
    result["running"] = running_unanswered;
    result["queued"] = queued.size();
    result["overloaded"] = rejected;
    result["late_results"] = late_results;
    result["max_concurrency"] = cfg.spec.options.max_concurrency;
    result["max_queue"] = cfg.spec.options.max_queue;
    return result;
  }
  return {{"handler", to_string(cfg.spec.key)},
          {"kind", to_string(cfg.spec.kind)},
          {"calls", calls},
          {"ok", ok},
          {"errors", failed},
          {"timeouts", timeouts},
          {"overloaded", rejected},
          {"late_results", late_results},
          {"running", running_unanswered},
          {"queued", queued.size()},
          {"max_concurrency", cfg.spec.options.max_concurrency},
          {"max_queue", cfg.spec.options.max_queue},
          {"non_blocking", false},
          {"latency", latency.to_json()}};
}

} // namespace mesh::detail
