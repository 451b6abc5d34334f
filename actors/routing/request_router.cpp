#include "actors/routing/request_router.hpp"

#include <cstdlib>
#include <string_view>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/data/data_plane_glue.hpp"
#include "actors/cluster/data/non_blocking_callers.hpp"
#include "actors/local_only.hpp"
#include "actors/routing/router_state.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

namespace {

template <class Response>
Response make_reply(status_code code, std::string message,
                    const std::string& trace_id) {
  Response r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(code));
  r.mutable_status()->set_message(std::move(message));
  r.set_trace_id(trace_id);
  return r;
}

} // namespace

template <class Request>
request_problem router_state::admit(Request& req) {
  if (auto bad = check_trace_id(req.trace_id()); !bad.empty()) {
    // The refusal must not carry the bad bytes back (logs, headers).
    req.set_trace_id(make_trace_id());
    return {status_code::invalid_argument, std::move(bad)};
  }
  if (req.trace_id().empty())
    req.set_trace_id(make_trace_id());
  if (draining)
    return {status_code::unavailable,
            "node " + cfg.node_id + " is shutting down"};
  if (auto problem = check_request(req.ref(), req.payload(),
                                   cfg.max_payload_bytes))
    return problem;
  if (req.hops() > cfg.max_hops)
    return {status_code::unavailable,
            "request crossed " + std::to_string(req.hops())
              + " nodes, more than the limit of "
              + std::to_string(cfg.max_hops)};
  if (req.origin_node().empty())
    req.set_origin_node(cfg.node_id);
  return {};
}

template <class Request>
const handler_route*
router_state::local_route(const Request& req, request_problem& problem,
                          const handler_route* found) const {
  const auto& ref = req.ref();
  if (table->validator) {
    auto why = table->validator->validate(ref.namespace_(), ref.service(),
                                          ref.method());
    if (!why.empty()) {
      problem = {status_code::not_found, "method " + path_of(ref)
                                           + " is not registered on "
                                           + cfg.node_id + " (" + why + ")"};
      return nullptr;
    }
  }
  if (found != nullptr)
    return found;
  if (!table->serves(ref.namespace_())) {
    problem = {status_code::not_found, "namespace '" + ref.namespace_()
                                         + "' is not served by " + cfg.node_id};
    return nullptr;
  }
  auto* route = table->find({ref.namespace_(), ref.service(), ref.method()});
  if (route == nullptr)
    problem = {status_code::not_found, "method " + path_of(ref)
                                         + " is not registered on "
                                         + cfg.node_id};
  return route;
}

// router_pipeline.cpp's dry run asks too.
template const handler_route*
router_state::local_route(const pb::DispatchRequest&, request_problem&,
                          const handler_route*) const;

const handler_route*
router_state::local_handler(const pb::DispatchRequest& req) const {
  const auto& ref = req.ref();
  if (!table->serves(ref.namespace_()))
    return nullptr;
  return table->find({ref.namespace_(), ref.service(), ref.method()});
}

pb::DispatchResponse router_state::reject(const request_problem& p,
                                          const std::string& trace_id) {
  ++rejected;
  log->debug("trace={} rejected: {}: {}", trace_id, to_string(p.code),
             p.message);
  return make_reply<pb::DispatchResponse>(p.code, p.message, trace_id);
}

const handler_route* router_state::serve_route(pb::ServeRequest& req,
                                               request_problem& p) {
  if ((p = admit(req)))
    return nullptr;
  return local_route(req, p);
}

request_problem router_state::no_route(const pb::DispatchRequest& req) const {
  const auto& ns = req.ref().namespace_();
  bool served_somewhere = table->serves(ns);
  for (const auto& [id, peer] : peers->peers)
    served_somewhere = served_somewhere
                       || (is_routable(peer.state) && peer.shares(ns));
  if (served_somewhere)
    return {status_code::not_found, "method " + path_of(req.ref())
                                      + " is not registered on any node "
                                        "serving namespace '"
                                      + ns + "'"};
  return {status_code::not_found, "namespace '" + ns
                                    + "' is not served by " + cfg.node_id
                                    + " or any peer sharing it"};
}

caf::result<pb::DispatchResponse>
router_state::dispatch(pb::DispatchRequest& req) {
  if (auto p = admit(req))
    return reject(p, req.trace_id());
  return run_pipeline(req);
}

caf::result<pb::DispatchResponse> router_state::execute(pipeline_call&& call) {
  auto& req = call.request;
  const auto& target = req.target_node_id();
  const handler_route* found = nullptr; // looked up once
  bool local = target == cfg.node_id
               || (target.empty() && (found = local_handler(req)) != nullptr);
  auto fail = [&](const request_problem& p) {
    auto r = reject(p, req.trace_id());
    complete(call, r);
    return r;
  };
  if (local) {
    request_problem p;
    auto* route = local_route(req, p, found);
    if (route == nullptr)
      return fail(p);
    ++dispatched;
    if (log->should_log(spdlog::level::debug)) // path_of allocates
      log->debug("trace={} dispatch {} locally", req.trace_id(),
                 path_of(req.ref()));
    trace_route(call, cfg.node_id, "local");
    if (auto* fast = route->inline_path()) {
      auto started = now();
      auto r = fast->run<pb::DispatchResponse>(req);
      if (traced(call))
        trace_inline(req.trace_id(), req.ref(), r.status().code(),
                     std::chrono::duration_cast<std::chrono::microseconds>(
                       read_clock() - started));
      if (call.explain
          && (call.request.directives().explain()
              || r.status().code() != pb::OK)) {
        call_attempt a;
        a.node = cfg.node_id;
        a.out = false;
        a.status = static_cast<status_code>(r.status().code());
        a.duration = std::chrono::duration_cast<std::chrono::microseconds>(
          read_clock() - started);
        call.attempts.push_back(std::move(a));
      }
      complete(call, r);
      return r;
    }
    call.local = true;
    call.targeted = true;
    start(new_call_id(), std::move(call), nullptr, route->executor);
    return caf::delegated<pb::DispatchResponse>{};
  }
  if (!target.empty()) {
    auto* peer = peers->find(target);
    if (peer == nullptr)
      return fail({status_code::unavailable,
                   "target node '" + target + "' is not a known member"});
    if (!is_routable(peer->state))
      return fail({status_code::unavailable,
                   "target node '" + target + "' is " + to_string(peer->state)});
    if (!peer->shares(req.ref().namespace_()))
      return fail({status_code::not_found,
                   "target node '" + target + "' does not share namespace '"
                     + req.ref().namespace_() + "' with " + cfg.node_id});
    call.targeted = true;
    trace_route(call, target, "target");
    start(new_call_id(), std::move(call), peer, {});
    return caf::delegated<pb::DispatchResponse>{};
  }
  auto chosen = choose(call);
  if (chosen.peer == nullptr)
    return fail(no_route(req));
  trace_route(call, chosen.peer->id, chosen.probe ? "probe" : "balanced");
  start(new_call_id(), std::move(call), chosen.peer, {}, chosen.probe);
  return caf::delegated<pb::DispatchResponse>{};
}

void router_state::check_drained() {
  if (!draining || !calls.empty())
    return;
  for (auto& rp : drain_waiters)
    rp.deliver(caf::ok_atom::value);
  drain_waiters.clear();
}

nlohmann::json router_state::stats() const {
  nlohmann::json flights = nlohmann::json::object();
  for (const auto& [peer, counters] : per_peer)
    flights[peer] = counters.in_flight;
  return {{"served", served},
          {"dispatched", dispatched},
          {"forwarded", forwarded},
          {"retried", retried},
          {"failed_over", failed_over},
          {"rejected", rejected},
          {"hedged", hedged},
          {"hedge_wins", hedge_wins},
          {"hedge_dropped", hedge_dropped},
          {"rate_limited", rate_limited},
          {"hook_rejected", hook_rejected},
          {"ejections", ejections},
          {"dry_runs", dry_runs},
          {"budget_exhausted", budget_exhausted},
          {"batches", batches},
          {"batched", batched},
          {"data_plane_batches", data_batches},
          {"data_plane_links", cfg.data ? cfg.data->link_count() : 0},
          {"data_plane_callers", cfg.data ? non_blocking_callers() : 0},
          {"data_plane_stalls", cfg.data ? data_plane_stalls() : 0},
          {"pending", calls.size()},
          {"in_flight", std::move(flights)},
          {"load_balancing", balancer->name()},
          {"draining", draining},
          {"table_version", table->version},
          {"peers_version", peers->version}};
}

} // namespace mesh::detail

namespace mesh {

namespace {

using detail::router_state;

using detail::router_actor_impl;

router_actor::behavior_type router_behavior(router_actor_impl* self,
                                            router_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("router");
  st.balancer = make_load_balancer(cfg.load_balancing,
                                   std::hash<std::string>{}(cfg.node_id));
  if (!st.balancer)
    st.balancer = make_load_balancer("round_robin", 0);
  st.cfg = std::move(cfg);
  if (!st.cfg.pipeline)
    st.cfg.pipeline = std::make_shared<pipeline_memory>();
  st.policies = st.cfg.pipeline->current();
  st.rng.seed(std::hash<std::string>{}(st.cfg.node_id) ^ 0x9e3779b97f4a7c15ULL);
  if (const char* v = std::getenv("MESH_PEER_BATCHING"))
    st.batching = std::string_view{v} != "0";
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.ingress_down(dm.source, dm.reason);
  });
  if (auto registry = st.cfg.registry.get())
    caf::anon_send(registry, atom::subscribe_v,
                   caf::actor_cast<caf::actor>(self));
  return {
    // Requests from other nodes come through this node's ingresses.
    [self](pb::ServeRequest& req) -> caf::result<pb::ServeResponse> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.serve(req);
    },
    [self](pb::DispatchRequest& req) -> caf::result<pb::DispatchResponse> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.dispatch(req);
    },
    [self](atom::update, handler_table_ptr& table) {
      if (table)
        self->state.table = std::move(table);
    },
    [self](atom::update, peer_table_ptr& table) {
      if (table)
        self->state.peers_changed(std::move(table));
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      auto& st = self->state;
      st.draining = true;
      if (st.calls.empty())
        return caf::ok_atom::value;
      st.drain_waiters.push_back(self->make_response_promise());
      return caf::delegated<caf::ok_atom>{};
    },
    [self](atom::stats) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.stats());
    },
    [self](atom::sweep) {
      if (from_this_node(self)) // own timer
        self->state.sweep();
    },
    [self](atom::batch) {
      if (from_this_node(self)) // own flush message
        self->state.flush_all();
    },
    [self](atom::batch, const std::string& peer, pb::ServeReplies& r) {
      if (from_this_node(self)) // our ingress for that peer
        self->state.on_replies(peer, r);
    },
    [self](data_replies& r) {
      // Local-only type: only this node's data plane sends it.
      if (r.replies)
        self->state.on_replies(r.peer, *r.replies);
    },
    [self](data_link_down& d) {
      self->state.link_down(d.peer, d.link);
    },
    [self](atom::batch, pb::ServeBatch& b)
      -> caf::result<pb::ServeReplies, pb::ServeBatch> {
      if (!from_this_node(self)) // our ingress of the peer that sent it
        return refused_remote();
      pb::ServeReplies done;
      pb::ServeBatch rest;
      self->state.serve_batch(b, done, rest);
      return {std::move(done), std::move(rest)};
    },
    [self](atom::policies, const std::string& name)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      request_problem p;
      auto out = self->state.policies_json(name, p);
      if (p)
        return make_error(p.code, p.message);
      return json_result(std::move(out));
    },
    [self](atom::reload) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.reload_policies());
    },
    [self](atom::hooks) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& mem = *self->state.cfg.pipeline;
      return json_result({{"hooks", mem.hooks->to_json()},
                          {"metrics", mem.metrics->to_json()}});
    },
    [self](atom::breakers) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.breakers_json());
    },
    [self](atom::idempotent, const std::string& path) -> caf::result<int32_t> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.idempotency(path);
    },
    [self](atom::heartbeat, const pb::TaskHeartbeat& hb) {
      // A handler here runs a task queued on a peer: pass its heartbeat on.
      if (!from_this_node(self) || !self->state.peers)
        return;
      if (auto* peer = self->state.peers->find(hb.queue_node()))
        self->send(peer->peer, atom::heartbeat_v, hb);
    },
  };
}

} // namespace

router_actor spawn_request_router(caf::actor_system& sys, router_config cfg) {
  return sys.spawn(router_behavior, std::move(cfg));
}

} // namespace mesh
