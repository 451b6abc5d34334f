// Console commands about process manifests and strategies: process,
// outcome, manifests (list, show, reload), strategy_stats.

#include <caf/event_based_actor.hpp>

#include "actors/console_commands.hpp"
#include "actors/request_checks.hpp"
#include "protocol/json_payload.hpp"
#include "protocol/local_types.hpp"
#include "protocol/type_ids.hpp"

namespace mesh {

namespace {

constexpr auto ask_timeout = std::chrono::seconds{5};

bool require_strategies(const console_config& env, console_reply& reply) {
  if (env.strategies)
    return true;
  reply(console_error(status_code::unavailable,
                      "node " + env.node_id + " has no strategy evaluator"));
  return false;
}

// Sends `xs` to the evaluator and replies with the JSON it answers.
template <class... Ts>
void ask_json(caf::event_based_actor* self, const console_config& env,
              console_reply reply, Ts&&... xs) {
  if (!require_strategies(env, reply))
    return;
  self->request(env.strategies, ask_timeout, std::forward<Ts>(xs)...)
    .then([reply](nlohmann::json& r) { reply(console_ok(std::move(r))); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

nlohmann::json describe(const pb::ProcessResponse& r) {
  auto code = status_code_from_int(r.status().code())
                .value_or(status_code::internal);
  nlohmann::json result{{"ok", code == status_code::ok},
                        {"status", to_string(code)},
                        {"code", static_cast<int>(code)},
                        {"process", r.process_name()},
                        {"variant", r.variant_id()},
                        {"variant_path", r.variant_path()},
                        {"strategy", r.strategy()},
                        {"reason", r.reason()},
                        {"handled_by", r.handled_by()},
                        {"trace_id", r.trace_id()}};
  if (code == status_code::ok)
    result["payload"] = any_to_display_json(r.payload());
  else
    result["error"] = r.status().message();
  return result;
}

void cmd_process(caf::event_based_actor* self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_strategies(env, reply))
    return;
  auto* name = string_arg(args, "process");
  if (name == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "process needs \"process\" (a process name)"));
    return;
  }
  pb::ProcessRequest req;
  req.set_process_name(*name);
  json_to_value(args.value("context", nlohmann::json::object()),
                *req.mutable_user_context());
  json_to_value(args.value("args", nlohmann::json::object()),
                *req.mutable_input_args());
  // meshctl is a person at a terminal: a trace id is made up when none is
  // given (the library API insists on one, as the seed does).
  auto* trace = string_arg(args, "trace");
  req.set_trace_id(trace != nullptr ? *trace : make_trace_id());
  if (auto i = args.find("deadline_ms");
      i != args.end() && i->is_number_unsigned())
    req.set_deadline_ms(i->get<uint32_t>());
  self->request(env.strategies, caf::infinite, std::move(req))
    .then([reply](pb::ProcessResponse& r) { reply(describe(r)); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_outcome(caf::event_based_actor* self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_strategies(env, reply))
    return;
  auto* process = string_arg(args, "process");
  auto* variant = string_arg(args, "variant");
  auto success = args.find("success");
  if (process == nullptr || variant == nullptr || success == args.end()
      || !success->is_boolean()) {
    reply(console_error(status_code::invalid_argument,
                        "outcome needs \"process\", \"variant\" and "
                        "\"success\" (true or false)"));
    return;
  }
  pb::OutcomeReport report;
  report.set_process_name(*process);
  report.set_variant_id(*variant);
  report.set_success(success->get<bool>());
  self->request(env.strategies, ask_timeout, atom::outcome_v, report)
    .then(
      [reply, report](caf::ok_atom) {
        reply(console_ok({{"process", report.process_name()},
                          {"variant", report.variant_id()},
                          {"success", report.success()}}));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_manifests(caf::event_based_actor* self, const console_config& env,
                   const nlohmann::json& args, console_reply reply) {
  auto action = args.value("action", std::string{"list"});
  if (action == "list")
    ask_json(self, env, std::move(reply), atom::manifests_v);
  else if (action == "reload")
    ask_json(self, env, std::move(reply), atom::reload_v);
  else if (action == "show") {
    auto* name = string_arg(args, "name");
    if (name == nullptr)
      reply(console_error(status_code::invalid_argument,
                          "manifests show needs \"name\" (a process name)"));
    else
      ask_json(self, env, std::move(reply), atom::manifests_v, *name);
  } else
    reply(console_error(status_code::invalid_argument,
                        "manifests action must be list, show or reload, not '"
                          + action + "'"));
}

void cmd_strategy_stats(caf::event_based_actor* self,
                        const console_config& env, const nlohmann::json& args,
                        console_reply reply) {
  auto* name = string_arg(args, "process");
  if (name == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "strategy_stats needs \"process\" (a process name)"));
    return;
  }
  ask_json(self, env, std::move(reply), atom::stats_v, *name);
}

} // namespace

void add_strategy_commands(console_command_table& table) {
  table.emplace("process", cmd_process);
  table.emplace("outcome", cmd_outcome);
  table.emplace("manifests", cmd_manifests);
  table.emplace("strategy_stats", cmd_strategy_stats);
}

} // namespace mesh
