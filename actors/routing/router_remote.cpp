// The request router's execute step: attempts at a peer (or at this node's
// executor), kept until the call is answered exactly once; retries within
// the policy (statuses, max_attempts, backoff, budget, deadline), hedging,
// outlier ejection, per-try timeouts, and failover when the connection
// manager reports a peer down.

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"
#include "protocol/local_types.hpp"

namespace mesh::detail {

namespace {

std::chrono::microseconds since(router_clock::time_point t0,
                                router_clock::time_point t1) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
}

} // namespace

router_clock::time_point pipeline_call::wake() const {
  auto t = std::min({deadline + answer_grace, retry_at, hedge_at});
  for (const auto& a : attempts)
    if (a.out)
      t = std::min(t, a.per_try_until);
  return t;
}

void peer_latency::record(std::chrono::microseconds d) {
  if (current.count() >= window) {
    previous = current;
    current = latency_histogram{};
  }
  current.record(static_cast<uint64_t>(d.count()) * 1000);
}

std::chrono::microseconds peer_latency::p95() const {
  if (current.count() + previous.count() < 20)
    return std::chrono::microseconds{0};
  auto both = previous;
  both.merge(current);
  return std::chrono::microseconds{both.quantile(0.95) / 1000};
}

chosen_peer router_state::choose(pipeline_call& call, bool mark_probe) {
  const auto& ref = call.request.ref();
  auto* serving = peers->serving({ref.namespace_(), ref.service(),
                                  ref.method()});
  if (serving == nullptr)
    return {};
  auto t = now();
  std::vector<const peer_route*> up, suspect, probes, ejected;
  for (const auto* peer : *serving) {
    if (!is_routable(peer->state) || call.has_tried(peer->id))
      continue;
    switch (outliers.peek(peer->id, call.service, t)) {
      case outlier_detector::admission::allow:
        (peer->state == peer_state::up ? up : suspect).push_back(peer);
        break;
      case outlier_detector::admission::probe:
        probes.push_back(peer);
        break;
      case outlier_detector::admission::skip:
        ejected.push_back(peer);
        break;
    }
  }
  auto note = [&call](const peer_route* p, const char* why) {
    for (const auto& [node, reason] : call.skipped)
      if (node == p->id)
        return;
    call.skipped.emplace_back(p->id, why);
  };
  if (!probes.empty()) {
    // The ejection is over: this request is the peer's one probe.
    auto* peer = probes.front();
    if (mark_probe)
      outliers.admit(peer->id, call.service, t);
    return {peer, true};
  }
  auto& pool = up.empty() ? suspect : up;
  if (!up.empty())
    for (auto* p : suspect)
      note(p, "suspect: missed heartbeats");
  if (pool.empty()) {
    // Never leave a service without a peer: an ejected one beats none.
    if (ejected.empty())
      return {};
    pool = ejected;
  } else {
    for (auto* p : ejected)
      note(p, "ejected as an outlier");
  }
  std::vector<peer_candidate> loads;
  loads.reserve(pool.size());
  for (const auto* p : pool)
    loads.push_back({p->id, in_flight[p->id]});
  return {pool[balancer->pick(loads)], false};
}

void router_state::start(uint64_t id, pipeline_call&& in,
                         const peer_route* peer, caf::actor local_executor,
                         bool probe) {
  auto& call = calls.emplace(id, std::move(in)).first->second;
  call.promise = self->make_response_promise();
  const auto& pol = *call.pol;
  budgets[pol.name].request_started();
  if (peer == nullptr) {
    send_attempt(id, call, cfg.node_id, std::move(local_executor), false,
                 false);
    return;
  }
  const auto& ref = call.request.ref();
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
      if (auto p95 = latencies[peer->id].p95(); p95.count() > 0)
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
  if (call.sent.empty()) {
    // First attempt: the payload moves into the message; the message itself
    // (copy-on-write, shared) is kept for a retry.
    pb::ServeRequest req;
    *req.mutable_ref() = call.request.ref();
    *req.mutable_payload() = std::move(*call.request.mutable_payload());
    req.set_trace_id(call.request.trace_id());
    req.set_deadline_ms(budget);
    req.set_hops(call.request.hops() + (call.local ? 0 : 1));
    req.set_origin_node(call.request.origin_node());
    if (call.request.has_task())
      *req.mutable_task() = call.request.task();
    if (!call.request.context().empty())
      *req.mutable_context() = call.request.context();
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
  auto index = call.attempts.size();
  call.attempts.push_back(std::move(a));
  arm_sweep(call.wake());
  if (!call.local)
    ++in_flight[node];
  log->debug("trace={} {} to {} (attempt {}{})", call.request.trace_id(),
             path_of(call.request.ref()), node, index + 1,
             hedge ? ", hedged" : "");
  // No CAF timeout per request: arm_sweep covers every call with one timer.
  self->request(to, caf::infinite, call.sent)
    .then(
      [this, id, index](pb::ServeResponse& r) { on_reply(id, index, r); },
      [this, id, index](caf::error& err) { on_error(id, index, err); });
}

void router_state::end_attempt(pipeline_call& call, call_attempt& a,
                               status_code code) {
  a.out = false;
  a.status = code;
  a.duration = since(a.started, now());
  if (a.budgeted) {
    budgets[call.pol->name].release();
    a.budgeted = false;
  }
  if (call.local)
    return;
  --in_flight[a.node];
  if (is_outlier_failure(code)) {
    auto* serving = peers->serving({call.request.ref().namespace_(),
                                    call.request.ref().service(),
                                    call.request.ref().method()});
    auto n = serving == nullptr ? size_t{1} : serving->size();
    if (outliers.record_failure(a.node, call.service, now(),
                                call.pol->outlier, n)) {
      ++ejections;
      log->warn("node {} ejected for {} after failing with {}", a.node,
                call.service, to_string(code));
    }
  } else {
    outliers.record_success(a.node, call.service, now());
    if (code == status_code::ok)
      latencies[a.node].record(a.duration);
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
  for (auto& other : call.attempts)
    if (other.out) {
      other.out = false;
      other.abandoned = true;
      other.duration = since(other.started, now());
      if (other.budgeted)
        budgets[call.pol->name].release();
      other.budgeted = false;
      --in_flight[other.node];
      ++hedge_dropped;
    }
  pb::DispatchResponse out;
  *out.mutable_status() = std::move(*r.mutable_status());
  *out.mutable_payload() = std::move(*r.mutable_payload());
  out.set_handled_by(r.executor_id());
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

bool router_state::retry(uint64_t id, pipeline_call& call) {
  if (call.targeted || call.local || call.attempts.size() >= call.max_attempts)
    return false;
  auto t = now();
  if (t >= call.deadline)
    return false;
  auto& budget = budgets[call.pol->name];
  if (!budget.try_acquire(call.pol->retry_budget)) {
    ++budget_exhausted;
    log->debug("trace={} no retry: the retry budget of policy {} is spent",
               call.request.trace_id(), call.pol->name);
    return false;
  }
  auto retries = static_cast<uint32_t>(call.attempts.size());
  auto delay = retry_delay(call.pol->retry, retries,
                           std::uniform_real_distribution<double>{}(rng));
  if (t + delay >= call.deadline) {
    budget.release();
    return false;
  }
  call.retry_budgeted = true;
  if (delay.count() == 0)
    return launch_retry(id, call);
  call.retry_at = t + delay;
  arm_sweep(call.wake());
  return true;
}

bool router_state::launch_retry(uint64_t id, pipeline_call& call) {
  call.retry_at = clock::time_point::max();
  auto chosen = choose(call);
  if (chosen.peer == nullptr) {
    budgets[call.pol->name].release();
    call.retry_budgeted = false;
    return false;
  }
  ++retried;
  log->info("trace={} retrying on {} after {}: {}", call.request.trace_id(),
            chosen.peer->id, call.attempts.back().node,
            to_string(call.last_code));
  send_attempt(id, call, chosen.peer->id,
               caf::actor_cast<caf::actor>(chosen.peer->peer), chosen.probe,
               false);
  call.attempts.back().budgeted = true;
  call.retry_budgeted = false;
  return true;
}

void router_state::hedge(uint64_t id, pipeline_call& call) {
  call.hedge_at = clock::time_point::max();
  if (call.outstanding() == 0 || call.attempts.size() > call.max_attempts)
    return;
  auto& budget = budgets[call.pol->name];
  if (!budget.try_acquire(call.pol->retry_budget)) {
    ++budget_exhausted;
    return;
  }
  auto chosen = choose(call);
  if (chosen.peer == nullptr) {
    budget.release();
    return;
  }
  ++hedged;
  send_attempt(id, call, chosen.peer->id,
               caf::actor_cast<caf::actor>(chosen.peer->peer), chosen.probe,
               true);
  call.attempts.back().budgeted = true;
}

void router_state::finish(uint64_t id, pb::DispatchResponse&& r) {
  auto i = calls.find(id);
  if (i == calls.end())
    return;
  auto& call = i->second;
  if (call.retry_budgeted)
    budgets[call.pol->name].release();
  budgets[call.pol->name].request_finished();
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

void router_state::arm_sweep(clock::time_point when) {
  if (sweep_pending && sweep_at <= when)
    return;
  sweep_pending = true;
  sweep_at = when;
  auto delay = std::max(when - now(), clock::duration{0});
  self->delayed_send(self, delay, atom::sweep_v);
}

void router_state::sweep() {
  sweep_pending = false;
  auto t = now();
  std::vector<uint64_t> due;
  for (const auto& [id, call] : calls)
    if (call.wake() <= t)
      due.push_back(id);
  for (auto id : due)
    sweep_call(id, t);
  auto next = clock::time_point::max();
  for (const auto& [id, call] : calls)
    next = std::min(next, call.wake());
  if (next != clock::time_point::max())
    arm_sweep(next);
}

void router_state::sweep_call(uint64_t id, clock::time_point t) {
  auto i = calls.find(id);
  if (i == calls.end())
    return;
  auto& call = i->second;
  if (call.deadline + answer_grace <= t) {
    std::string silent;
    for (auto& a : call.attempts)
      if (a.out) {
        end_attempt(call, a, status_code::deadline_exceeded);
        silent = a.node;
      }
    if (silent.empty())
      silent = call.attempts.empty() ? cfg.node_id : call.attempts.back().node;
    finish(id, status_code::deadline_exceeded,
           "no answer from node " + silent + " within "
             + std::to_string(call.request.deadline_ms()) + " ms");
    return;
  }
  for (auto& a : call.attempts)
    if (a.out && a.per_try_until <= t) {
      end_attempt(call, a, status_code::deadline_exceeded);
      auto per_try = call.pol->retry.per_try_timeout.count();
      attempt_failed(id, call, status_code::deadline_exceeded,
                     "no answer from node " + a.node
                       + " within the per-try timeout of "
                       + std::to_string(per_try) + " ms",
                     !call.targeted && call.idempotent
                       && call.pol->retry.retries(
                         status_code::deadline_exceeded));
      if (calls.find(id) == calls.end())
        return;
    }
  if (call.retry_at <= t && !launch_retry(id, call)) {
    give_up(id, call);
    return;
  }
  if (call.hedge_at <= t)
    hedge(id, call);
}

void router_state::peers_changed(peer_table_ptr table) {
  peers = std::move(table);
  // Attempts on a peer that is gone: retry (idempotent) or answer
  // unavailable.
  std::vector<uint64_t> hit;
  for (const auto& [id, call] : calls) {
    if (call.local)
      continue;
    for (const auto& a : call.attempts) {
      auto* peer = peers->find(a.node);
      if (a.out && (peer == nullptr || peer->state == peer_state::down)) {
        hit.push_back(id);
        break;
      }
    }
  }
  for (auto id : hit) {
    auto& call = calls[id];
    std::string gone;
    for (auto& a : call.attempts) {
      auto* peer = peers->find(a.node);
      if (a.out && (peer == nullptr || peer->state == peer_state::down)) {
        end_attempt(call, a, status_code::unavailable);
        gone = a.node;
        ++failed_over;
      }
    }
    call.last_node.clear();
    attempt_failed(id, call, status_code::unavailable,
                   "node " + gone + " went down while handling the request",
                   !call.targeted && call.idempotent);
  }
}

} // namespace mesh::detail
