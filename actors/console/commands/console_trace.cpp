// Console command `trace`: one request's decisions on every node of the
// cluster (telemetry/trace_ring.hpp), gathered by the connection manager
// (actors/cluster/membership/connection_traces.cpp).
//
//   {"cmd": "trace", "id": TRACE_ID}
//     -> {"trace_id", "records": [{"node", "time_us", "step", "decision",
//        "detail", "duration_us"}, ...] (sorted by time), "nodes_asked",
//        "nodes_missing"}
//   not_found when no node has a record of the trace.

#include <caf/event_based_actor.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

void cmd_trace(console_actor::pointer self, const console_config& env,
               const nlohmann::json& args, console_reply reply) {
  auto* id = string_arg(args, "id");
  if (id == nullptr || id->empty()) {
    reply(console_error(status_code::invalid_argument,
                        "trace needs \"id\" (a trace id, as every dispatch "
                        "reply carries it)"));
    return;
  }
  if (!require_actor(env.cluster.get(), "cluster manager", env, reply))
    return;
  // The manager answers within its own per-peer timeout; ours is a backstop.
  self->request(env.cluster.get(), trace_gather_timeout + std::chrono::seconds{2},
                atom::trace_v, *id)
    .then([reply](nlohmann::json& r) { reply(console_ok(std::move(r))); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

} // namespace

void add_trace_commands(console_command_table& table) {
  table.emplace("trace", cmd_trace);
}

} // namespace mesh
