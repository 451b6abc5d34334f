// Console commands about the cluster: peers, connect, leave, remove.

#include <caf/event_based_actor.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{5};

bool require_cluster(const console_config& env, console_reply& reply) {
  if (env.cluster.get())
    return true;
  reply(console_error(status_code::unavailable,
                      "node " + env.node_id + " has no cluster manager"));
  return false;
}

void cmd_peers(console_actor::pointer self, const console_config& env,
               const nlohmann::json&, console_reply reply) {
  if (!require_cluster(env, reply))
    return;
  // In-flight counts live in the router, membership in the manager.
  self->request(env.router.get(), ask_timeout, atom::stats_v)
    .then(
      [self, env, reply](nlohmann::json& stats) {
        self->request(env.cluster.get(), ask_timeout, atom::peers_v,
                      stats.value("in_flight", nlohmann::json::object()))
          .then(
            [reply](nlohmann::json& peers) {
              reply(console_ok(std::move(peers)));
            },
            [reply](caf::error& err) { reply(console_error(err)); });
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_connect(console_actor::pointer self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_cluster(env, reply))
    return;
  auto* address = string_arg(args, "address");
  if (address == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "connect needs \"address\" (host:port)"));
    return;
  }
  // The dial itself is bounded by the connect timeout.
  self->request(env.cluster.get(), caf::infinite, atom::connect_v, *address)
    .then([reply](nlohmann::json& r) { reply(console_ok(std::move(r))); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_leave(console_actor::pointer, const console_config& env,
               const nlohmann::json&, console_reply reply) {
  if (!env.request_leave) {
    reply(console_error(status_code::unavailable,
                        "node " + env.node_id + " cannot leave by console"));
    return;
  }
  env.request_leave();
  reply(console_ok({{"leaving", env.node_id}}));
}

void cmd_remove(console_actor::pointer self, const console_config& env,
                const nlohmann::json& args, console_reply reply) {
  if (!require_cluster(env, reply))
    return;
  auto* id = string_arg(args, "node");
  if (id == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "remove needs \"node\" (a node id)"));
    return;
  }
  self->request(env.cluster.get(), ask_timeout, atom::remove_v, *id)
    .then([reply, id = *id](caf::ok_atom) { reply(console_ok({{"removed", id}})); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

} // namespace

void add_cluster_commands(console_command_table& table) {
  table.emplace("peers", cmd_peers);
  table.emplace("connect", cmd_connect);
  table.emplace("leave", cmd_leave);
  table.emplace("remove", cmd_remove);
}

} // namespace mesh
