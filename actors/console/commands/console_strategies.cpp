// Console commands about process manifests and strategies: process,
// outcome, manifests (list, show, reload), strategy_stats.

#include <caf/event_based_actor.hpp>

#include "actors/console/commands/console_commands.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

constexpr const char* evaluator = "strategy evaluator";

nlohmann::json describe(const pb::ProcessResponse& r) {
  // The strategy's choice is shown whether or not the variant succeeded.
  auto out = describe_response(r, r.handled_by());
  auto& result = out["result"];
  result["process"] = r.process_name();
  result["variant"] = r.variant_id();
  result["variant_path"] = r.variant_path();
  result["strategy"] = r.strategy();
  result["reason"] = r.reason();
  return out;
}

void cmd_process(console_actor::pointer self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_actor(env.strategies.get(), evaluator, env, reply))
    return;
  auto* name = string_arg(args, "process");
  if (name == nullptr) {
    reply(console_error(status_code::invalid_argument,
                        "process needs \"process\" (a process name)"));
    return;
  }
  pb::ProcessRequest req;
  req.set_trace(true); // through the console: always traced
  req.set_process_name(*name);
  json_to_value(args.value("context", nlohmann::json::object()),
                *req.mutable_user_context());
  json_to_value(args.value("args", nlohmann::json::object()),
                *req.mutable_input_args());
  // meshctl is a person at a terminal: a trace id is made up when none is
  // given (the library API insists on one, as the seed does).
  auto* trace = string_arg(args, "trace");
  req.set_trace_id(trace != nullptr ? *trace : make_trace_id());
  uint32_t deadline = 0;
  if (!read_deadline_ms(args, deadline, reply))
    return;
  req.set_deadline_ms(deadline);
  self->request(env.strategies.get(), caf::infinite, std::move(req))
    .then([reply](pb::ProcessResponse& r) { reply(describe(r)); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_outcome(console_actor::pointer self, const console_config& env,
                 const nlohmann::json& args, console_reply reply) {
  if (!require_actor(env.strategies.get(), evaluator, env, reply))
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
  self->request(env.strategies.get(), console_ask_timeout, atom::outcome_v, report)
    .then(
      [reply, report](caf::ok_atom) {
        reply(console_ok({{"process", report.process_name()},
                          {"variant", report.variant_id()},
                          {"success", report.success()}}));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_manifests(console_actor::pointer self, const console_config& env,
                   const nlohmann::json& args, console_reply reply) {
  auto action = args.value("action", std::string{"list"});
  if (action == "list")
    ask_json(self, env.strategies.get(), evaluator, env, std::move(reply), atom::manifests_v);
  else if (action == "reload") {
    // A file that fails is an error (meshctl exits non-zero), the report
    // still in "result", as jobs and workflows reloads answer.
    if (!require_actor(env.strategies.get(), evaluator, env, reply))
      return;
    self->request(env.strategies.get(), console_ask_timeout, atom::reload_v)
      .then(
        [reply](nlohmann::json& report) {
          reply(reload_reply(std::move(report), "manifest"));
        },
        [reply](caf::error& err) { reply(console_error(err)); });
  } else if (action == "show") {
    auto* name = string_arg(args, "name");
    if (name == nullptr)
      reply(console_error(status_code::invalid_argument,
                          "manifests show needs \"name\" (a process name)"));
    else
      ask_json(self, env.strategies.get(), evaluator, env, std::move(reply), atom::manifests_v, *name);
  } else
    reply(console_error(status_code::invalid_argument,
                        "manifests action must be list, show or reload, not '"
                          + action + "'"));
}

// strategy_stats without "process": {"processes": [the figures of every
// loaded process]}, so GET /metrics and the dashboard need one command. A
// process unloaded in between is left out.
void all_strategy_stats(console_actor::pointer self, const console_config& env,
                        console_reply reply) {
  if (!require_actor(env.strategies.get(), evaluator, env, reply))
    return;
  auto strategies = env.strategies.get();
  self->request(strategies, console_ask_timeout, atom::manifests_v)
    .then(
      [self, strategies, reply](nlohmann::json& list) {
        struct pending {
          std::vector<nlohmann::json> rows;
          size_t remaining = 0;
        };
        auto st = std::make_shared<pending>();
        std::vector<std::string> names;
        for (const auto& m : list)
          if (m.is_object() && m.value("status", "") == "ok"
              && m.contains("process") && m["process"].is_string())
            names.push_back(m["process"].get<std::string>());
        st->rows.resize(names.size());
        st->remaining = names.size();
        auto finish = [st, reply] {
          auto out = nlohmann::json::array();
          for (auto& row : st->rows)
            if (!row.is_null())
              out.push_back(std::move(row));
          reply(console_ok({{"processes", std::move(out)}}));
        };
        if (names.empty()) {
          finish();
          return;
        }
        for (size_t i = 0; i < names.size(); ++i)
          self->request(strategies, console_ask_timeout, atom::stats_v, names[i])
            .then(
              [st, finish, i](nlohmann::json& row) {
                st->rows[i] = std::move(row);
                if (--st->remaining == 0)
                  finish();
              },
              [st, finish](caf::error&) {
                if (--st->remaining == 0)
                  finish();
              });
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_strategy_stats(console_actor::pointer self,
                        const console_config& env, const nlohmann::json& args,
                        console_reply reply) {
  auto* name = string_arg(args, "process");
  if (name == nullptr) {
    all_strategy_stats(self, env, std::move(reply));
    return;
  }
  ask_json(self, env.strategies.get(), evaluator, env, std::move(reply), atom::stats_v, *name);
}

} // namespace

void add_strategy_commands(console_command_table& table) {
  table.emplace("process", cmd_process);
  table.emplace("outcome", cmd_outcome);
  table.emplace("manifests", cmd_manifests);
  table.emplace("strategy_stats", cmd_strategy_stats);
}

} // namespace mesh
