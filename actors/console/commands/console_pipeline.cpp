// Console commands about the dispatch pipeline: policies (list or show
// one), policies_reload, hooks (with their counters and the metrics hook's
// figures), breakers (outlier states); and the directives and explanation
// of dispatch requests (console_core.cpp's dispatch uses them).

#include "actors/console/commands/console_commands.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

constexpr const char* router_name = "request router";

void cmd_policies(console_actor::pointer self, const console_config& env,
                  const nlohmann::json& args, console_reply reply) {
  auto* name = string_arg(args, "name");
  ask_json(self, env.router.get(), router_name, env, std::move(reply),
           atom::policies_v, name == nullptr ? std::string{} : *name);
}

void cmd_policies_reload(console_actor::pointer self,
                         const console_config& env, const nlohmann::json&,
                         console_reply reply) {
  if (!require_actor(env.router.get(), router_name, env, reply))
    return;
  self->request(env.router.get(), console_ask_timeout, atom::reload_v)
    .then(
      [reply](nlohmann::json& report) {
        // A reload that kept the last good set is not a success.
        if (report.value("ok", false)) {
          reply(console_ok(std::move(report)));
          return;
        }
        auto errors = report.value("errors", nlohmann::json::array());
        std::string text = "policies not reloaded; the last good set stays";
        for (const auto& e : errors)
          text += "\n" + e.get<std::string>();
        auto out = console_error(status_code::invalid_argument, text);
        out["result"] = std::move(report);
        reply(std::move(out));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_hooks(console_actor::pointer self, const console_config& env,
               const nlohmann::json&, console_reply reply) {
  ask_json(self, env.router.get(), router_name, env, std::move(reply),
           atom::hooks_v);
}

void cmd_breakers(console_actor::pointer self, const console_config& env,
                  const nlohmann::json&, console_reply reply) {
  ask_json(self, env.router.get(), router_name, env, std::move(reply),
           atom::breakers_v);
}

} // namespace

bool fill_directives(const nlohmann::json& args, pb::DispatchRequest& req,
                     const console_reply& reply) {
  auto& d = *req.mutable_directives();
  d.set_trace(true); // a request through the console is always traced
  auto bad = [&reply](const std::string& why) {
    reply(console_error(status_code::invalid_argument, why));
    return false;
  };
  if (auto i = args.find("skip_hooks"); i != args.end()) {
    if (!i->is_array())
      return bad("skip_hooks must be a list of hook names");
    for (const auto& h : *i) {
      if (!h.is_string())
        return bad("skip_hooks must be a list of hook names");
      d.add_skip_hooks(h.get<std::string>());
    }
  }
  for (const char* key : {"timeout_ms", "max_attempts"}) {
    auto i = args.find(key);
    if (i == args.end())
      continue;
    if (!i->is_number_unsigned() || i->get<uint64_t>() > 3600000)
      return bad(std::string{key} + " must be an integer from 0 to 3600000");
    auto v = i->get<uint32_t>();
    if (std::string_view{key} == "timeout_ms")
      d.set_timeout_ms(v);
    else
      d.set_max_attempts(v);
  }
  if (auto i = args.find("hedge"); i != args.end()) {
    auto v = i->is_string() ? i->get<std::string>() : std::string{};
    if (v == "on")
      d.set_hedge(pb::Directives::HEDGE_ON);
    else if (v == "off")
      d.set_hedge(pb::Directives::HEDGE_OFF);
    else if (v != "policy")
      return bad("hedge must be \"on\", \"off\" or \"policy\"");
  }
  for (const char* key : {"dry_run", "explain"}) {
    auto i = args.find(key);
    if (i == args.end())
      continue;
    if (!i->is_boolean())
      return bad(std::string{key} + " must be true or false");
    if (std::string_view{key} == "dry_run")
      d.set_dry_run(i->get<bool>());
    else
      d.set_explain(i->get<bool>());
  }
  return true;
}

nlohmann::json explain_json(const pb::Explanation& e) {
  auto attempts = nlohmann::json::array();
  for (const auto& a : e.attempts()) {
    auto code = status_code_from_int(a.status()).value_or(status_code::internal);
    attempts.push_back({{"node", a.node()},
                        {"status", to_string(code)},
                        {"duration_us", a.duration_us()},
                        {"hedged", a.hedged()},
                        {"probe", a.probe()},
                        {"abandoned", a.abandoned()}});
  }
  auto skipped = nlohmann::json::array();
  for (const auto& s : e.skipped())
    skipped.push_back({{"node", s.node()}, {"reason", s.reason()}});
  nlohmann::json out{{"policy", e.policy()},
                     {"hooks", std::vector<std::string>(e.hooks().begin(),
                                                        e.hooks().end())},
                     {"attempts", std::move(attempts)},
                     {"skipped", std::move(skipped)}};
  if (e.dry_run()) {
    out["dry_run"] = true;
    out["decision"] = e.decision();
  }
  return out;
}

void add_pipeline_commands(console_command_table& table) {
  table.emplace("policies", cmd_policies);
  table.emplace("policies_reload", cmd_policies_reload);
  table.emplace("hooks", cmd_hooks);
  table.emplace("breakers", cmd_breakers);
}

} // namespace mesh
