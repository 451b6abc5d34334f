// The request router's remote half: forwarding a dispatch to a peer as a
// Serve request, keeping it until it is answered exactly once, retrying on
// another peer when nothing ran (or the method is idempotent), and failing
// over when the connection manager reports a peer down.

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"
#include "protocol/local_types.hpp"

namespace mesh::detail {

namespace {

// How much longer than the request's own deadline we wait for a peer's
// answer: its executor answers deadline_exceeded itself, which is better
// than our guess.
constexpr auto answer_grace = std::chrono::milliseconds{250};

} // namespace

std::vector<const peer_route*>
router_state::candidates(const pb::DispatchRequest& req,
                         const remote_call* exclude) const {
  const auto& ref = req.ref();
  std::vector<const peer_route*> up, suspect;
  auto* serving = peers->serving({ref.namespace_(), ref.service(),
                                  ref.method()});
  if (serving == nullptr)
    return up;
  for (const auto* peer : *serving) {
    if (!is_routable(peer->state)
        || (exclude != nullptr && exclude->has_tried(peer->id)))
      continue;
    (peer->state == peer_state::up ? up : suspect).push_back(peer);
  }
  return up.empty() ? suspect : up;
}

void router_state::forward(pb::DispatchRequest&& req, const peer_route& peer,
                           bool targeted) {
  auto id = next_call++;
  auto& call = remote[id];
  call.promise = self->make_response_promise();
  call.deadline = now() + std::chrono::milliseconds{req.deadline_ms()};
  const auto& ref = req.ref();
  call.idempotent = peer.method({ref.namespace_(), ref.service(), ref.method()})
                      .value_or(false);
  call.targeted = targeted;
  call.request = std::move(req);
  ++forwarded;
  send_attempt(id, call, peer);
}

void router_state::send_attempt(uint64_t id, remote_call& call,
                                const peer_route& peer) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    call.deadline - now());
  auto budget = static_cast<uint32_t>(std::max<int64_t>(left.count(), 1));
  if (call.sent.empty()) {
    // First attempt: the payload moves into the message; the message itself
    // (copy-on-write, shared) is kept for a retry.
    pb::ServeRequest req;
    *req.mutable_ref() = call.request.ref();
    *req.mutable_payload() = std::move(*call.request.mutable_payload());
    req.set_trace_id(call.request.trace_id());
    req.set_deadline_ms(budget);
    req.set_hops(call.request.hops() + 1);
    req.set_origin_node(call.request.origin_node());
    if (call.request.has_task())
      *req.mutable_task() = call.request.task();
    call.sent = caf::make_message(std::move(req));
  } else {
    // A retry: same request, the budget that is left.
    auto req = call.sent.get_as<pb::ServeRequest>(0);
    req.set_deadline_ms(budget);
    call.sent = caf::make_message(std::move(req));
  }
  call.peer = peer.id;
  call.tried.push_back(peer.id);
  auto attempt = ++call.attempt;
  arm_sweep(call.deadline + answer_grace);
  ++in_flight[peer.id];
  log->debug("trace={} forward {}/{}/{} to {} (attempt {})",
             call.request.trace_id(), call.request.ref().namespace_(),
             call.request.ref().service(), call.request.ref().method(),
             peer.id, attempt);
  // No CAF timeout per request: arm_sweep covers every call with one timer.
  self->request(caf::actor_cast<caf::actor>(peer.peer), caf::infinite,
                call.sent)
    .then(
      [this, id, attempt](pb::ServeResponse& r) { on_reply(id, attempt, r); },
      [this, id, attempt](caf::error& err) { on_error(id, attempt, err); });
}

void router_state::on_reply(uint64_t id, uint32_t attempt,
                            pb::ServeResponse& r) {
  auto i = remote.find(id);
  if (i == remote.end() || i->second.attempt != attempt)
    return; // answered already (failover or deadline)
  auto& call = i->second;
  --in_flight[call.peer];
  auto code = static_cast<status_code>(r.status().code());
  log->debug("trace={} {} answered {}", call.request.trace_id(), call.peer,
             to_string(code));
  // Nothing ran on that peer (leaving, or a stale route): try another.
  bool nothing_ran = code == status_code::unavailable
                     || code == status_code::not_found;
  if (nothing_ran && !call.targeted && now() < call.deadline && retry(id, call))
    return;
  pb::DispatchResponse out;
  *out.mutable_status() = std::move(*r.mutable_status());
  *out.mutable_payload() = std::move(*r.mutable_payload());
  out.set_handled_by(r.executor_id());
  out.set_trace_id(call.request.trace_id());
  finish(id, std::move(out));
}

void router_state::on_error(uint64_t id, uint32_t attempt,
                            const caf::error& err) {
  auto i = remote.find(id);
  if (i == remote.end() || i->second.attempt != attempt)
    return;
  auto& call = i->second;
  --in_flight[call.peer];
  // The message could not be delivered: as good as the peer going down.
  ++failed_over;
  if (!call.targeted && call.idempotent && now() < call.deadline
      && retry(id, call))
    return;
  finish(id, status_code::unavailable,
         "node " + call.peer + " failed while handling the request: "
           + error_text(err));
}

bool router_state::retry(uint64_t id, remote_call& call) {
  auto choices = candidates(call.request, &call);
  if (choices.empty())
    return false;
  std::vector<peer_candidate> loads;
  for (const auto* p : choices)
    loads.push_back({p->id, in_flight[p->id]});
  const auto* peer = choices[balancer->pick(loads)];
  ++retried;
  log->info("trace={} retrying on {} after {}", call.request.trace_id(),
            peer->id, call.peer);
  send_attempt(id, call, *peer);
  return true;
}

void router_state::finish(uint64_t id, pb::DispatchResponse&& r) {
  auto i = remote.find(id);
  if (i == remote.end())
    return;
  i->second.promise.deliver(std::move(r));
  remote.erase(i);
  check_drained();
}

void router_state::finish(uint64_t id, status_code code, std::string message) {
  auto i = remote.find(id);
  if (i == remote.end())
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
  std::vector<uint64_t> expired;
  auto next = clock::time_point::max();
  for (const auto& [id, call] : remote) {
    if (call.deadline + answer_grace <= t)
      expired.push_back(id);
    else
      next = std::min(next, call.deadline + answer_grace);
  }
  for (auto id : expired) {
    auto& call = remote[id];
    --in_flight[call.peer];
    finish(id, status_code::deadline_exceeded,
           "no answer from node " + call.peer + " within "
             + std::to_string(call.request.deadline_ms()) + " ms");
  }
  if (next != clock::time_point::max())
    arm_sweep(next);
}

void router_state::peers_changed(peer_table_ptr table) {
  peers = std::move(table);
  // Calls on a peer that is gone: retry (idempotent) or answer unavailable.
  std::vector<uint64_t> lost;
  for (const auto& [id, call] : remote) {
    auto* peer = peers->find(call.peer);
    if (peer == nullptr || peer->state == peer_state::down)
      lost.push_back(id);
  }
  for (auto id : lost) {
    auto& call = remote[id];
    --in_flight[call.peer];
    ++failed_over;
    auto gone = call.peer;
    if (!call.targeted && call.idempotent && now() < call.deadline
        && retry(id, call))
      continue;
    finish(id, status_code::unavailable,
           "node " + gone + " went down while handling the request");
  }
}

} // namespace mesh::detail
