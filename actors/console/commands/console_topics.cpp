// Console commands about topics: publish, routes, metrics, freeze, records,
// route (enable or disable one).

#include <caf/event_based_actor.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "actors/topics/topic_handler.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh {

namespace {

constexpr const char* dispatcher = "topic dispatcher";

// A publish's dispatch status (seed 004) as the status of the envelope.

// A publish result in the envelope: "result" describes the publish (with
// its own seed-004 "status") whether or not it succeeded.
nlohmann::json describe(const pb::PublishResponse& r) {
  auto dispatchers = nlohmann::json::array();
  for (const auto& d : r.dispatchers())
    dispatchers.push_back({{"dispatcher_id", d.dispatcher_id()},
                           {"node", d.node_id()},
                           {"status", d.status()},
                           {"duration_us", d.duration_us()},
                           {"error", d.error()},
                           {"outputs", std::vector<std::string>(
                                         d.outputs().begin(), d.outputs().end())}});
  nlohmann::json result{
    {"status", r.status()},
    {"dispatch_id", r.dispatch_id()},
    {"topic", r.topic()},
    {"trace_id", r.trace_id()},
    {"duration_us", r.duration_us()},
    {"outputs", std::vector<std::string>(r.outputs().begin(),
                                         r.outputs().end())},
    {"output_count", r.output_count()},
    {"error", r.error_message()},
    {"dispatchers", std::move(dispatchers)}};
  auto code = publish_status_code(r.status());
  if (code == status_code::ok)
    return console_ok(std::move(result));
  auto out = console_error(code, r.error_message().empty()
                                   ? "publish of '" + r.topic()
                                       + "': " + r.status()
                                   : r.error_message());
  out["result"] = std::move(result);
  return out;
}

void cmd_publish(console_actor::pointer self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_actor(env.topics.get(), dispatcher, env, reply))
    return;
  auto* topic = string_arg(args, "topic");
  if (topic == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "publish needs \"topic\""));
    return;
  }
  uint32_t deadline = 0;
  if (!read_deadline_ms(args, deadline, reply))
    return;
  pb::PublishRequest req;
  req.set_topic(*topic);
  req.set_deadline_ms(deadline);
  auto* category = string_arg(args, "category");
  req.set_category(category != nullptr ? *category : "event");
  if (auto* type = string_arg(args, "message_type"))
    req.set_message_type(*type);
  if (auto* trace = string_arg(args, "trace"))
    req.set_trace_id(*trace);
  req.set_trace(true); // through the console: always traced
  json_to_value(args.value("payload", nlohmann::json()),
                *req.mutable_payload());
  self->request(env.topics.get(), caf::infinite, std::move(req))
    .then([reply](pb::PublishResponse& r) { reply(describe(r)); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_routes(console_actor::pointer self, const console_config& env,
                const nlohmann::json&, console_reply reply) {
  ask_json(self, env.topics.get(), dispatcher, env, std::move(reply), atom::routes_v);
}

void cmd_metrics(console_actor::pointer self, const console_config& env,
                 const nlohmann::json&, console_reply reply) {
  ask_json(self, env.topics.get(), dispatcher, env, std::move(reply), atom::metrics_v);
}

void cmd_records(console_actor::pointer self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  auto* id = string_arg(args, "dispatcher");
  if (id == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "records needs \"dispatcher\" (a record dispatcher)"));
    return;
  }
  ask_json(self, env.topics.get(), dispatcher, env, std::move(reply), atom::records_v, *id);
}

void cmd_freeze(console_actor::pointer self, const console_config& env,
                const nlohmann::json&, console_reply reply) {
  ask_ok(self, env.topics.get(), dispatcher, env, std::move(reply), {{"frozen", true}}, atom::freeze_v);
}

void cmd_route(console_actor::pointer self, const console_config& env,
               const nlohmann::json& args, console_reply reply) {
  auto* id = string_arg(args, "route");
  auto enabled = args.find("enabled");
  if (id == nullptr || enabled == args.end() || !enabled->is_boolean()) {
    reply(console_error(status_code::invalid_argument,
                        "route needs \"route\" (an id) and \"enabled\""));
    return;
  }
  ask_ok(self, env.topics.get(), dispatcher, env, std::move(reply),
         {{"route", *id}, {"enabled", enabled->get<bool>()}}, atom::route_v,
         *id, enabled->get<bool>());
}

} // namespace

void add_topic_commands(console_command_table& table) {
  table.emplace("publish", cmd_publish);
  table.emplace("routes", cmd_routes);
  table.emplace("metrics", cmd_metrics);
  table.emplace("records", cmd_records);
  table.emplace("freeze", cmd_freeze);
  table.emplace("route", cmd_route);
}

} // namespace mesh
