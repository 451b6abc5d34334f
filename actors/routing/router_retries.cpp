// The request router's choices and timers: which peer takes an attempt
// (up before suspect, ejected outliers skipped, one probe after an
// ejection), retries within the policy (statuses, max_attempts, backoff,
// budget, deadline), hedges, per-try timeouts and deadlines (one timer for
// the earliest), and failover when the connection manager reports a peer
// down.

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

router_clock::time_point pipeline_call::wake() const {
  auto t = std::min({deadline + answer_grace, retry_at, hedge_at});
  for (const auto& a : attempts)
    if (a.out)
      t = std::min(t, a.per_try_until);
  return t;
}

void peer_counters::record(std::chrono::microseconds d) {
  if (current.count() >= window) {
    previous = current;
    current = latency_histogram{};
  }
  current.record(static_cast<uint64_t>(d.count()) * 1000);
}

std::chrono::microseconds peer_counters::p95() const {
  if (current.count() + previous.count() < 20)
    return std::chrono::microseconds{0};
  auto both = previous;
  both.merge(current);
  return std::chrono::microseconds{both.quantile(0.95) / 1000};
}

void router_state::name_service(pipeline_call& call, bool served) {
  if (call.has_service())
    return;
  const auto& ref = call.request.ref();
  auto joined = [&ref] { return ref.namespace_() + "/" + ref.service(); };
  if (!served) {
    call.own_service = joined();
    return;
  }
  auto i = service_names.find(ref.namespace_());
  if (i == service_names.end())
    i = service_names.try_emplace(ref.namespace_()).first;
  auto j = i->second.find(ref.service());
  if (j == i->second.end())
    j = i->second.emplace(ref.service(), joined()).first;
  call.shared_service = &j->second;
}

chosen_peer router_state::choose(pipeline_call& call, bool mark_probe) {
  const auto& ref = call.request.ref();
  auto* serving = peers->serving({ref.namespace_(), ref.service(),
                                  ref.method()});
  if (serving == nullptr)
    return {};
  name_service(call, true);
  const auto& service = call.service();
  auto t = now();
  auto& up = up_scratch;
  auto& suspect = suspect_scratch;
  auto& probes = probe_scratch;
  auto& ejected = ejected_scratch;
  up.clear();
  suspect.clear();
  probes.clear();
  ejected.clear();
  for (const auto* peer : *serving) {
    if (!is_routable(peer->state) || call.has_tried(peer->id))
      continue;
    switch (outliers.peek(peer->id, service, t)) {
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
      outliers.admit(peer->id, service, t);
    return {peer, true};
  }
  if (!up.empty())
    for (auto* p : suspect)
      note(p, "suspect: missed heartbeats");
  const auto* pool = up.empty() ? &suspect : &up;
  if (pool->empty()) {
    // Never leave a service without a peer: an ejected one beats none.
    if (ejected.empty())
      return {};
    pool = &ejected;
  } else {
    for (auto* p : ejected)
      note(p, "ejected as an outlier");
  }
  auto& loads = load_scratch;
  loads.clear();
  for (const auto* p : *pool)
    loads.push_back({p->id, per_peer[p->id].in_flight});
  return {(*pool)[balancer->pick(loads)], false};
}

bool router_state::retry(uint64_t id, pipeline_call& call) {
  if (call.targeted || call.local || call.attempts.size() >= call.max_attempts)
    return false;
  auto t = now();
  if (t >= call.deadline)
    return false;
  auto& budget = *call.budget;
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
    call.budget->release();
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
  trace_attempt(call, "retry");
  return true;
}

void router_state::hedge(uint64_t id, pipeline_call& call) {
  call.hedge_at = clock::time_point::max();
  if (call.outstanding() == 0 || call.attempts.size() > call.max_attempts)
    return;
  auto& budget = *call.budget;
  if (!budget.try_acquire(call.pol->retry_budget)) {
    ++budget_exhausted;
    return;
  }
  // A probe's result must be recorded, so a probe never races a hedge: it
  // would be dropped, and its peer left waiting for a verdict.
  for (const auto& a : call.attempts)
    if (a.out && a.probe) {
      budget.release();
      return;
    }
  auto chosen = choose(call, false);
  if (chosen.peer == nullptr || chosen.probe) {
    budget.release();
    return;
  }
  ++hedged;
  send_attempt(id, call, chosen.peer->id,
               caf::actor_cast<caf::actor>(chosen.peer->peer), chosen.probe,
               true);
  call.attempts.back().budgeted = true;
  trace_attempt(call, "hedge");
}

void router_state::arm_sweep(clock::time_point when) {
  sweeps.arm(self, when, now());
}

void router_state::sweep() {
  sweeps.fired();
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
  // By index: a retry adds attempts while we look.
  std::vector<size_t> timed_out;
  for (size_t k = 0; k < call.attempts.size(); ++k)
    if (call.attempts[k].out && call.attempts[k].per_try_until <= t)
      timed_out.push_back(k);
  for (auto k : timed_out) {
    auto j = calls.find(id);
    if (j == calls.end())
      return;
    auto& c = j->second;
    if (!c.attempts[k].out)
      continue;
    end_attempt(c, c.attempts[k], status_code::deadline_exceeded);
    auto message = "no answer from node " + c.attempts[k].node
                   + " within the per-try timeout of "
                   + std::to_string(c.pol->retry.per_try_timeout.count())
                   + " ms";
    attempt_failed(id, c, status_code::deadline_exceeded, std::move(message),
                   !c.targeted && c.idempotent
                     && c.pol->retry.retries(status_code::deadline_exceeded));
  }
  if (calls.find(id) == calls.end())
    return;
  if (call.retry_at <= t && !launch_retry(id, call)) {
    give_up(id, call);
    return;
  }
  if (call.hedge_at <= t)
    hedge(id, call);
}

void router_state::peers_changed(peer_table_ptr table) {
  peers = std::move(table);
  // A peer that went down (or left) starts afresh when it comes back: its
  // ejection judged a process that is gone.
  std::string last;
  for (const auto& row : outliers.snapshot(now())) {
    if (row.peer == last)
      continue;
    last = row.peer;
    auto* peer = peers->find(row.peer);
    if (peer == nullptr || peer->state == peer_state::down)
      outliers.forget(row.peer);
  }
  // What waits to leave for a peer that is gone stays here: its attempts
  // are failed below, and must not run there after all.
  for (auto i = outboxes.begin(); i != outboxes.end();) {
    auto* peer = peers->find(i->first);
    if (peer == nullptr || peer->state == peer_state::down)
      i = outboxes.erase(i);
    else
      ++i;
  }
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

int32_t router_state::idempotency(const std::string& path) const {
  auto key = parse_service_path(path);
  if (!key)
    return -1;
  service_key_view view{key->ns, key->service, key->method};
  if (const auto* local = table->find(view))
    return local->idempotent ? 1 : 0;
  if (const auto* serving = peers->serving(view))
    for (const auto* peer : *serving)
      if (auto flag = peer->method(view))
        return *flag ? 1 : 0;
  return -1;
}

} // namespace mesh::detail
