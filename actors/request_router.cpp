#include "actors/request_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/handler_table.hpp"
#include "actors/request_checks.hpp"
#include "protocol/local_types.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

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

struct router_state {
  static inline const char* name = "mesh.request_router";

  caf::event_based_actor* self = nullptr;
  router_config cfg;
  std::shared_ptr<spdlog::logger> log;
  handler_table_ptr table = std::make_shared<handler_table>();
  bool draining = false;

  // counters
  uint64_t served = 0, dispatched = 0, rejected = 0;

  /// Checks shared by Serve and Dispatch; fills in the trace id.
  template <class Request>
  request_problem admit(Request& req) {
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

  /// Finds the local handler for `req`, after the registry validator (called
  /// exactly once here). Sets `problem` when there is none.
  template <class Request>
  const handler_route* local_route(const Request& req,
                                   request_problem& problem) const {
    const auto& ref = req.ref();
    if (table->validator) {
      auto why = table->validator->validate(ref.namespace_(), ref.service(),
                                            ref.method());
      if (!why.empty()) {
        problem = {status_code::not_found,
                   "method " + ref.namespace_() + "/" + ref.service() + "/"
                     + ref.method() + " is not registered on " + cfg.node_id
                     + " (" + why + ")"};
        return nullptr;
      }
    }
    if (!table->serves(ref.namespace_())) {
      problem = {status_code::not_found, "namespace '" + ref.namespace_()
                                           + "' is not served by "
                                           + cfg.node_id};
      return nullptr;
    }
    auto* route = table->find({ref.namespace_(), ref.service(), ref.method()});
    if (route == nullptr)
      problem = {status_code::not_found,
                 "method " + ref.namespace_() + "/" + ref.service() + "/"
                   + ref.method() + " is not registered on " + cfg.node_id};
    return route;
  }

  /// True when this node has a handler for `req` (no validator involved).
  template <class Request>
  bool has_local(const Request& req) const {
    const auto& ref = req.ref();
    return table->serves(ref.namespace_())
           && table->find({ref.namespace_(), ref.service(), ref.method()})
                != nullptr;
  }

  template <class Response>
  Response reject(const request_problem& p, const std::string& trace_id) {
    ++rejected;
    log->debug("trace={} rejected: {}: {}", trace_id, to_string(p.code),
               p.message);
    return make_reply<Response>(p.code, p.message, trace_id);
  }

  caf::result<pb::ServeResponse> serve(pb::ServeRequest& req) {
    if (auto p = admit(req))
      return reject<pb::ServeResponse>(p, req.trace_id());
    request_problem p;
    auto* route = local_route(req, p);
    if (route == nullptr)
      return reject<pb::ServeResponse>(p, req.trace_id());
    ++served;
    log->debug("trace={} serve {}/{}/{} locally", req.trace_id(),
               req.ref().namespace_(), req.ref().service(), req.ref().method());
    self->delegate(route->executor, std::move(req));
    return caf::delegated<pb::ServeResponse>{};
  }

  caf::result<pb::DispatchResponse> dispatch(pb::DispatchRequest& req) {
    if (auto p = admit(req))
      return reject<pb::DispatchResponse>(p, req.trace_id());
    const auto& target = req.target_node_id();
    if (!target.empty() && target != cfg.node_id)
      return reject<pb::DispatchResponse>(
        {status_code::unavailable,
         "target node '" + target + "' is not a known member"},
        req.trace_id());
    if (!target.empty() || has_local(req)) {
      request_problem p;
      auto* route = local_route(req, p);
      if (route == nullptr)
        return reject<pb::DispatchResponse>(p, req.trace_id());
      ++dispatched;
      log->debug("trace={} dispatch {}/{}/{} locally", req.trace_id(),
                 req.ref().namespace_(), req.ref().service(),
                 req.ref().method());
      self->delegate(route->executor, std::move(req));
      return caf::delegated<pb::DispatchResponse>{};
    }
    // No local handler and nowhere else to go: say precisely what is missing.
    request_problem p;
    local_route(req, p);
    return reject<pb::DispatchResponse>(p, req.trace_id());
  }

  nlohmann::json stats() const {
    return {{"served", served},
            {"dispatched", dispatched},
            {"rejected", rejected},
            {"draining", draining},
            {"table_version", table->version}};
  }
};

caf::behavior router_behavior(caf::stateful_actor<router_state>* self,
                              router_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("router");
  st.cfg = std::move(cfg);
  if (st.cfg.registry)
    self->send(st.cfg.registry, atom::subscribe_v, caf::actor{self});
  return {
    [self](pb::ServeRequest& req) { return self->state.serve(req); },
    [self](pb::DispatchRequest& req) { return self->state.dispatch(req); },
    [self](atom::update, handler_table_ptr& table) {
      if (table)
        self->state.table = std::move(table);
    },
    [self](atom::drain) {
      self->state.draining = true;
      return caf::ok_atom::value;
    },
    [self](atom::stats) { return self->state.stats(); },
  };
}

} // namespace

caf::actor spawn_request_router(caf::actor_system& sys, router_config cfg) {
  return sys.spawn(router_behavior, std::move(cfg));
}

} // namespace mesh
