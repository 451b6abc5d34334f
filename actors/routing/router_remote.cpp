// The request router's execute step: attempts at a peer (or at this node's
// executor), kept until the call is answered exactly once: sending them,
// their answers and errors (with the outlier record of the peer), the first
// answer winning over a hedge, and the final answer. Choosing peers,
// retries, hedges and timers are in router_retries.cpp.

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

namespace {

std::chrono::microseconds since(router_clock::time_point t0,
                                router_clock::time_point t1) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
}

} // namespace

void router_state::start(uint64_t id, pipeline_call&& in,
                         const peer_route* peer, caf::actor local_executor,
                         bool probe) {
  auto& call = calls.emplace(id, std::move(in)).first->second;
  call.promise = self->make_response_promise();
  call.policies = policies; // keeps call.pol alive across a reload
  const auto& pol = *call.pol;
  call.budget = &budgets[pol.name]; // map nodes stay put
  call.budget->request_started();
  if (peer == nullptr) {
    send_attempt(id, call, cfg.node_id, std::move(local_executor), false,
                 false);
    return;
  }
  const auto& ref = call.request.ref();
  if (!call.has_service()) // a targeted call (choose() named the others)
    name_service(call, peers->serving({ref.namespace_(), ref.service(),
                                       ref.method()})
                         != nullptr);
  call.idempotent = peer->method({ref.namespace_(), ref.service(),
                                  ref.method()})
                      .value_or(false);
  ++forwarded;
  if (call.hedging && call.idempotent && !call.targeted) {
    auto delay = std::chrono::duration_cast<std::chrono::microseconds>(
      pol.hedging.delay);
    // Adaptive (or asked for by the caller with no delay in the policy):
    // the peer's recent p95, so only its slow tail is hedged.
    if (pol.hedging.adaptive || delay.count() == 0)
      if (auto p95 = per_peer[peer->id].p95(); p95.count() > 0)
        delay = p95;
    if (delay.count() > 0)
      call.hedge_at = now() + delay;
  }
  send_attempt(id, call, peer->id, caf::actor_cast<caf::actor>(peer->peer),
               probe, false);
}

void router_state::send_attempt(uint64_t id, pipeline_call& call,
                                const std::string& node, caf::actor to,
                                bool probe, bool hedge) {
  auto t = now();
  // Rounded up: the first attempt gets the caller's whole budget.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(call.deadline - t);
  const auto& per_try = call.pol->retry.per_try_timeout;
  if (per_try.count() > 0 && !call.local)
    left = std::min(left, per_try);
  auto budget = static_cast<uint32_t>(std::max<int64_t>(left.count(), 1));
  auto index = call.attempts.size();
  bool batched = !call.local && batching
                 && index < (size_t{1} << tag_index_bits);
  // The Serve request of this attempt. In a batch it is built once, right
  // there (router_outbox.cpp), its payload copied from the call, which keeps
  // it for another attempt: no message of its own, no second copy.
  auto build = [&](pb::ServeRequest& req, bool move_payload) {
    *req.mutable_ref() = call.request.ref();
    if (move_payload)
      *req.mutable_payload() = std::move(*call.request.mutable_payload());
    else
      *req.mutable_payload() = call.request.payload();
    req.set_trace_id(call.request.trace_id());
    req.set_deadline_ms(budget);
    req.set_hops(call.request.hops() + (call.local ? 0 : 1));
    req.set_origin_node(call.request.origin_node());
    req.set_traced(call.traced);
    if (call.request.has_task())
      *req.mutable_task() = call.request.task();
    if (!call.request.context().empty())
      *req.mutable_context() = call.request.context();
  };
  if (batched) {
    // Below.
  } else if (call.sent.empty()) {
    // First attempt: the payload moves into the message; the message itself
    // (copy-on-write, shared) is kept for a retry.
    pb::ServeRequest req;
    build(req, true);
    call.sent = caf::make_message(std::move(req));
  } else if (call.sent.get_as<pb::ServeRequest>(0).deadline_ms() != budget) {
    // Another attempt: same request, the budget that is left.
    auto req = call.sent.get_as<pb::ServeRequest>(0);
    req.set_deadline_ms(budget);
    call.sent = caf::make_message(std::move(req));
  }
  call_attempt a;
  a.node = node;
  a.to = to;
  a.started = t;
  if (per_try.count() > 0 && !call.local)
    a.per_try_until = t + per_try;
  a.hedged = hedge;
  a.probe = probe;
  if (!call.local) {
    a.peer = &per_peer[node];
    ++a.peer->in_flight;
  }
  call.attempts.push_back(std::move(a));
  arm_sweep(call.wake());
  if (log->should_log(spdlog::level::debug)) // path_of allocates
    log->debug("trace={} {} to {} (attempt {}{})", call.request.trace_id(),
               path_of(call.request.ref()), node, index + 1,
               hedge ? ", hedged" : "");
  if (batched) {
    // To a peer: in its batch (router_outbox.cpp).
    auto& box = outbox_of(node);
    auto& req = enqueue_slot(box, to, call.request.payload().ByteSizeLong()
                                        + call.request.trace_id().size());
    build(req, false);
    enqueued(box, id, index);
    return;
  }
  // No CAF timeout per request: arm_sweep covers every call with one timer.
  self->request(to, caf::infinite, call.sent)
    .then(
      [this, id, index](pb::ServeResponse& r) { on_reply(id, index, r); },
      [this, id, index](caf::error& err) { on_error(id, index, err); });
}

size_t router_state::serving_count(const pipeline_call& call) const {
  const auto& ref = call.request.ref();
  auto* serving = peers->serving({ref.namespace_(), ref.service(),
                                  ref.method()});
  return serving == nullptr ? size_t{1} : serving->size();
}

void router_state::end_attempt(pipeline_call& call, call_attempt& a,
                               status_code code) {
  a.out = false;
  a.status = code;
  a.duration = since(a.started, now());
  if (a.budgeted) {
    call.budget->release();
    a.budgeted = false;
  }
  if (call.local)
    return;
  --a.peer->in_flight;
  // No record for a service no peer serves (a targeted call's own name):
  // its one peer could never be ejected, and made-up names would pile up.
  bool served = call.shared_service != nullptr;
  if (is_outlier_failure(code)) {
    if (served
        && outliers.record_failure(a.node, call.service(), now(),
                                   call.pol->outlier, serving_count(call))) {
      ++ejections;
      log->warn("node {} ejected for {} after failing with {}", a.node,
                call.service(), to_string(code));
    }
  } else {
    if (served)
      outliers.record_success(a.node, call.service(), now());
    if (code == status_code::ok)
      a.peer->record(a.duration);
  }
}

void router_state::on_reply(uint64_t id, size_t index, pb::ServeResponse& r) {
  auto i = calls.find(id);
  if (i == calls.end() || index >= i->second.attempts.size()
      || !i->second.attempts[index].out)
    return; // answered already (another attempt, failover or deadline)
  auto& call = i->second;
  auto& a = call.attempts[index];
  auto code = static_cast<status_code>(r.status().code());
  end_attempt(call, a, code);
  log->debug("trace={} {} answered {}", call.request.trace_id(), a.node,
             to_string(code));
  // Refused before any handler ran (leaving, or a stale route): any method
  // may go elsewhere. A handler's own answer is retried only when the
  // method is idempotent and the policy names the status.
  bool nothing_ran = r.executor_id().empty()
                     && (code == status_code::unavailable
                         || code == status_code::not_found);
  bool retryable = !call.targeted
                   && (nothing_ran
                       || (call.idempotent && call.pol->retry.retries(code)));
  if (code != status_code::ok && retryable) {
    call.last_node = r.executor_id();
    attempt_failed(id, call, code, r.status().message(), true);
    return;
  }
  if (a.hedged)
    ++hedge_wins;
  // The first answer wins; any other attempt still out is dropped.
  auto winner_started = a.started;
  for (auto& other : call.attempts)
    if (other.out) {
      // Outrun by a later attempt: as good as a timeout for the outlier
      // record, so a frozen peer behind hedging is still ejected.
      if (other.started < winner_started && !call.local)
        if (outliers.record_failure(other.node, call.service(), now(),
                                    call.pol->outlier,
                                    serving_count(call))) {
          ++ejections;
          log->warn("node {} ejected for {}: outrun by a hedge", other.node,
                    call.service());
        }
      other.out = false;
      other.abandoned = true;
      other.duration = since(other.started, now());
      if (other.budgeted)
        call.budget->release();
      other.budgeted = false;
      if (other.peer != nullptr)
        --other.peer->in_flight;
      ++hedge_dropped;
    }
  pb::DispatchResponse out;
  // Both on the heap (Mesh uses no arenas): the parts change hands, nothing
  // is allocated. Both stay present when the answer had none, as before.
  out.set_allocated_status(r.release_status());
  out.set_allocated_payload(r.release_payload());
  out.mutable_status();
  out.mutable_payload();
  out.set_handled_by(std::move(*r.mutable_executor_id()));
  out.set_trace_id(call.request.trace_id());
  finish(id, std::move(out));
}

void router_state::on_error(uint64_t id, size_t index, const caf::error& err) {
  auto i = calls.find(id);
  if (i == calls.end() || index >= i->second.attempts.size()
      || !i->second.attempts[index].out)
    return;
  auto& call = i->second;
  auto& a = call.attempts[index];
  // The message could not be delivered: as good as the peer going down.
  end_attempt(call, a, status_code::unavailable);
  ++failed_over;
  call.last_node.clear();
  attempt_failed(id, call, status_code::unavailable,
                 "node " + a.node + " failed while handling the request: "
                   + error_text(err),
                 !call.targeted && call.idempotent);
}

void router_state::attempt_failed(uint64_t id, pipeline_call& call,
                                  status_code code, std::string message,
                                  bool retryable) {
  call.last_code = code;
  call.last_message = std::move(message);
  if (call.outstanding() > 0)
    return; // a hedge (or the first attempt) may still answer
  if (retryable && retry(id, call))
    return;
  give_up(id, call);
}

void router_state::give_up(uint64_t id, pipeline_call& call) {
  pb::DispatchResponse r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(call.last_code));
  r.mutable_status()->set_message(std::move(call.last_message));
  r.set_handled_by(call.last_node);
  r.set_trace_id(call.request.trace_id());
  finish(id, std::move(r));
}

void router_state::finish(uint64_t id, pb::DispatchResponse&& r) {
  auto i = calls.find(id);
  if (i == calls.end())
    return;
  auto& call = i->second;
  if (call.retry_budgeted)
    call.budget->release();
  call.budget->request_finished();
  complete(call, r);
  call.promise.deliver(std::move(r));
  calls.erase(i);
  check_drained();
}

void router_state::finish(uint64_t id, status_code code, std::string message) {
  auto i = calls.find(id);
  if (i == calls.end())
    return;
  log->debug("trace={} {}: {}", i->second.request.trace_id(), to_string(code),
             message);
  pb::DispatchResponse r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(code));
  r.mutable_status()->set_message(std::move(message));
  r.set_trace_id(i->second.request.trace_id());
  finish(id, std::move(r));
}

} // namespace mesh::detail
