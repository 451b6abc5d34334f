// Console commands about this node and its handlers: status, handlers,
// dispatch, serve, namespaces, validator.

#include <algorithm>

#include <caf/event_based_actor.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "actors/routing/registry/registry_validator.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{5};

// The last part of status: each actor's health and restarts.
void add_actor_health(console_actor::pointer self, const console_config& env,
                      nlohmann::json summary, console_reply reply) {
  auto supervisor = env.supervisor.get();
  if (!supervisor) {
    reply(console_ok(std::move(summary)));
    return;
  }
  self->request(supervisor, ask_timeout, atom::stats_v)
    .then(
      [reply, summary](nlohmann::json& actors) mutable {
        summary["actors"] = std::move(actors);
        reply(console_ok(std::move(summary)));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

// Then the router's counters: requests, retries, hedges, ejections, limits.
void add_router_stats(console_actor::pointer self, const console_config& env,
                      nlohmann::json summary, console_reply reply) {
  auto router = env.router.get();
  if (!router) {
    add_actor_health(self, env, std::move(summary), std::move(reply));
    return;
  }
  self->request(router, ask_timeout, atom::stats_v)
    .then(
      [self, env, reply, summary](nlohmann::json& stats) mutable {
        summary["router"] = std::move(stats);
        add_actor_health(self, env, std::move(summary), std::move(reply));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_status(console_actor::pointer self, const console_config& env,
                const nlohmann::json&, console_reply reply) {
  self->request(env.registry.get(), ask_timeout, atom::stats_v)
    .then(
      [self, env, reply](nlohmann::json& summary) {
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now() - env.started);
        summary["id"] = env.node_id;
        summary["listen"] = env.listen;
        summary["console"] = env.console;
        summary["http"] = env.http;
        summary["uptime_s"] = uptime.count();
        if (env.grpc_calls)
          summary["grpc_calls"] = env.grpc_calls();
        if (env.http_requests)
          summary["http_requests"] = env.http_requests();
        if (!env.cluster.get()) {
          summary["cluster_size"] = 1;
          add_router_stats(self, env, std::move(summary), std::move(reply));
          return;
        }
        self->request(env.cluster.get(), ask_timeout, atom::stats_v)
          .then(
            [self, env, reply, summary](nlohmann::json& cluster) mutable {
              for (auto& [key, value] : cluster.items())
                summary[key] = value;
              add_router_stats(self, env, std::move(summary),
                               std::move(reply));
            },
            [reply](caf::error& err) { reply(console_error(err)); });
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_handlers(console_actor::pointer self, const console_config& env,
                  const nlohmann::json&, console_reply reply) {
  self->request(env.registry.get(), ask_timeout, atom::handlers_v)
    .then([reply](nlohmann::json& list) { reply(console_ok(std::move(list))); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

bool fill_request(const nlohmann::json& args, pb::DispatchRequest& req,
                  console_reply& reply) {
  auto set = [&](const char* name, auto setter) {
    if (auto* x = string_arg(args, name))
      setter(*x);
  };
  set("namespace", [&](const std::string& x) {
    req.mutable_ref()->set_namespace_(x);
  });
  set("service", [&](const std::string& x) { req.mutable_ref()->set_service(x); });
  set("method", [&](const std::string& x) { req.mutable_ref()->set_method(x); });
  set("trace", [&](const std::string& x) { req.set_trace_id(x); });
  uint32_t deadline = 0;
  if (!read_deadline_ms(args, deadline, reply))
    return false;
  req.set_deadline_ms(deadline);
  auto payload = args.find("payload");
  *req.mutable_payload() = json_to_any(payload == args.end() ? nlohmann::json()
                                                             : *payload);
  return true;
}

void cmd_dispatch(console_actor::pointer self, const console_config& env,
                  const nlohmann::json& args, console_reply reply) {
  pb::DispatchRequest req;
  if (!fill_request(args, req, reply))
    return;
  if (auto* target = string_arg(args, "target"))
    req.set_target_node_id(*target);
  if (!fill_directives(args, req, reply))
    return;
  self->request(env.router.get(), caf::infinite, std::move(req))
    .then(
      [reply](pb::DispatchResponse& r) {
        auto out = describe_response(r, r.handled_by());
        if (r.has_explain())
          out["result"]["explain"] = explain_json(r.explain());
        reply(std::move(out));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_serve(console_actor::pointer self, const console_config& env,
               const nlohmann::json& args, console_reply reply) {
  // A dispatch aimed at this node: the pipeline (policies, rate limits,
  // hooks) guards it as any request from outside. (The router's own Serve
  // is the peers' side of a dispatch that passed it on its first node.)
  pb::DispatchRequest req;
  req.mutable_directives()->set_trace(true); // through the console: traced
  if (!fill_request(args, req, reply))
    return;
  req.set_target_node_id(env.node_id);
  self->request(env.router.get(), caf::infinite, std::move(req))
    .then(
      [reply](pb::DispatchResponse& r) {
        reply(describe_response(r, r.handled_by()));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_namespaces(console_actor::pointer self, const console_config& env,
                    const nlohmann::json& args, console_reply reply) {
  auto* action = string_arg(args, "action");
  auto* name = string_arg(args, "namespace");
  auto done = [reply](caf::ok_atom) {
    reply(console_ok(nlohmann::json::object()));
  };
  auto fail = [reply](caf::error& err) { reply(console_error(err)); };
  if (action != nullptr && name != nullptr && *action == "add") {
    self->request(env.registry.get(), ask_timeout, atom::namespaces_v, atom::add_v,
                  *name)
      .then(done, fail);
  } else if (action != nullptr && name != nullptr && *action == "remove") {
    self->request(env.registry.get(), ask_timeout, atom::namespaces_v,
                  atom::remove_v, *name)
      .then(done, fail);
  } else {
    reply(console_error(status_code::invalid_argument,
                        "namespaces needs \"action\" (add or remove) and "
                        "\"namespace\""));
  }
}

void cmd_validator(console_actor::pointer self, const console_config& env,
                   const nlohmann::json& args, console_reply reply) {
  registry_validator_ptr validator;
  auto allow = args.find("allow");
  if (allow != args.end()) {
    bool all_text = allow->is_array()
                    && std::all_of(allow->begin(), allow->end(),
                                   [](const auto& x) { return x.is_string(); });
    if (!all_text) {
      reply(console_error(status_code::invalid_argument,
                          "\"allow\" must be a list of patterns (strings)"));
      return;
    }
    std::string error;
    auto v = allow_list_validator::make(allow->get<std::vector<std::string>>(),
                                        error);
    if (!v) {
      reply(console_error(status_code::invalid_argument, error));
      return;
    }
    validator = v;
  }
  auto description = validator ? validator->describe() : "none";
  self->request(env.registry.get(), ask_timeout, atom::validator_v, validator)
    .then(
      [reply, description](caf::ok_atom) {
        reply(console_ok({{"validator", description}}));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

// Tests of supervision kill one of the node's actors on purpose (or cut
// the node's data links, which the connection manager dials again, or
// refuse a peer's next request for a data-link token).
void cmd_inject_failure(console_actor::pointer self, const console_config& env,
                        const nlohmann::json& args, console_reply reply) {
  if (!env.allow_fault_injection) {
    reply(console_error(status_code::permission_denied,
                        "fault injection is off on node " + env.node_id));
    return;
  }
  auto* name = string_arg(args, "actor");
  auto supervisor = env.supervisor.get();
  if (name == nullptr || !supervisor) {
    reply(console_error(status_code::invalid_argument,
                        "actor: the name of one of the node's actors"));
    return;
  }
  if (name != nullptr && *name == "data links") {
    if (!env.fail_data_links) {
      reply(console_error(status_code::not_found,
                          "node " + env.node_id + " has no data plane"));
      return;
    }
    reply(console_ok({{"killed", *name}, {"links", env.fail_data_links()}}));
    return;
  }
  if (name != nullptr && *name == "data tokens") {
    if (!env.refuse_data_token) {
      reply(console_error(status_code::not_found,
                          "node " + env.node_id + " has no data plane"));
      return;
    }
    env.refuse_data_token();
    reply(console_ok({{"killed", *name}, {"refusing", 1}}));
    return;
  }
  self->request(supervisor, ask_timeout, atom::kill_v, *name)
    .then([reply, killed = *name](
            caf::ok_atom) { reply(console_ok({{"killed", killed}})); },
          [reply](caf::error& err) {
            // The supervisor lists its actors; the two names the console
            // answers itself belong in that list too.
            if (to_status_code(err) == status_code::invalid_argument)
              reply(console_error(status_code::invalid_argument,
                                  error_text(err)
                                    + ", \"data links\" or \"data tokens\""));
            else
              reply(console_error(err));
          });
}

} // namespace

void add_core_commands(console_command_table& table) {
  table.emplace("status", cmd_status);
  table.emplace("handlers", cmd_handlers);
  table.emplace("dispatch", cmd_dispatch);
  table.emplace("serve", cmd_serve);
  table.emplace("namespaces", cmd_namespaces);
  table.emplace("validator", cmd_validator);
  table.emplace("inject_failure", cmd_inject_failure);
}

} // namespace mesh
