// meshctl's dispatch-pipeline commands (policies, hooks, breakers), the
// directive flags of `dispatch`, and how their answers print for people.

#include <iomanip>

#include "node/meshctl/meshctl_format.hpp"
#include "node/meshctl/meshctl_options.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh::meshctl {

void add_directive_flags(CLI::App& sub, options& o) {
  sub.add_flag("--explain", o.explain,
               "print what the pipeline did: policy, hooks, every attempt, "
               "peers skipped and why");
  sub.add_flag("--dry-run", o.dry_run,
               "route and run the pre-hooks, do not execute: say which node "
               "would run it and why");
  sub.add_option("--hedge", o.hedge,
                 "hedge an idempotent request on a second peer: on, off or "
                 "policy (the default)")
    ->check(CLI::IsMember({"on", "off", "policy"}));
  sub.add_option("--max-attempts", o.max_attempts,
                 "at most this many attempts (never above the policy's)")
    ->check(CLI::Range(1, 100));
  sub.add_option("--skip-hooks", o.skip_hooks,
                 "hooks of the policy not to run (comma-separated)")
    ->delimiter(',');
  sub.add_option("--request-timeout-ms", o.request_timeout_ms,
                 "the whole request's timeout (overrides the policy's)")
    ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
}

void set_directives(const options& o, nlohmann::json& c) {
  if (o.explain)
    c["explain"] = true;
  if (o.dry_run)
    c["dry_run"] = true;
  if (!o.hedge.empty())
    c["hedge"] = o.hedge;
  if (o.max_attempts > 0)
    c["max_attempts"] = o.max_attempts;
  if (!o.skip_hooks.empty())
    c["skip_hooks"] = o.skip_hooks;
  if (o.request_timeout_ms > 0)
    c["timeout_ms"] = o.request_timeout_ms;
}

void add_pipeline_commands(CLI::App& app, options& o) {
  auto* policies = app.add_subcommand(
    "policies", "resilience policies: list, show NAME, reload (as SIGHUP)");
  policies->add_option("action", o.action, "show or reload")
    ->check(CLI::IsMember({"show", "reload"}));
  policies->add_option("name", o.target, "the policy to show");
  policies->callback([&o] {
    if (o.action == "reload") {
      o.command = {{"cmd", "policies_reload"}};
      return;
    }
    o.command = {{"cmd", "policies"}};
    if (o.action == "show") {
      if (o.target.empty())
        o.error = "policies show needs the name of a policy";
      o.command["name"] = o.target;
    }
  });
  app.add_subcommand("hooks", "pipeline hooks with their counters")
    ->callback([&o] { o.command = {{"cmd", "hooks"}}; });
  app.add_subcommand("breakers",
                     "outlier ejection of each peer and service: state, "
                     "failures, ejected until")
    ->callback([&o] { o.command = {{"cmd", "breakers"}}; });
}

} // namespace mesh::meshctl

namespace mesh {

namespace {

std::string ms_text(const nlohmann::json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number()
           ? std::to_string(i->get<int64_t>()) + " ms"
           : "-";
}

void print_policies(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(18) << "POLICY" << std::setw(24) << "MATCH"
      << std::setw(10) << "TIMEOUT" << std::setw(9) << "ATTEMPTS"
      << std::setw(10) << "HEDGE" << "HOOKS\n";
  for (const auto& p : list) {
    std::string hooks;
    for (const auto& h : p.value("hooks", nlohmann::json::array()))
      hooks += (hooks.empty() ? "" : ",") + h.get<std::string>();
    auto hedging = p.value("hedging", nlohmann::json::object());
    std::string hedge = !hedging.value("enabled", false) ? "off"
                        : hedging.value("adaptive", false)
                          ? "p95"
                          : ms_text(hedging, "delay_ms");
    out << std::left << std::setw(18) << p.value("name", "") << std::setw(24)
        << p.value("match", "") << std::setw(10) << ms_text(p, "timeout_ms")
        << std::setw(9)
        << p.value("retry", nlohmann::json::object()).value("max_attempts", 0)
        << std::setw(10) << hedge << (hooks.empty() ? "-" : hooks) << "\n";
  }
}

void print_hooks(std::ostream& out, const nlohmann::json& r) {
  out << std::left << std::setw(20) << "HOOK" << std::setw(6) << "STAGE"
      << std::setw(9) << "BUILTIN" << std::right << std::setw(10) << "CALLS"
      << std::setw(10) << "REJECTED" << std::setw(8) << "FAILED"
      << std::setw(10) << "MEAN_US" << "\n";
  for (const auto& h : r.value("hooks", nlohmann::json::array()))
    out << std::left << std::setw(20) << h.value("name", "") << std::setw(6)
        << h.value("stage", "") << std::setw(9)
        << (h.value("builtin", false) ? "yes" : "no") << std::right
        << std::setw(10) << h.value("calls", 0) << std::setw(10)
        << h.value("rejected", 0) << std::setw(8) << h.value("failed", 0)
        << std::setw(10) << h.value("mean_us", 0.0) << "\n";
}

void print_breakers(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(22) << "NODE" << std::setw(28) << "SERVICE"
      << std::setw(9) << "STATE" << std::right << std::setw(9) << "STREAK"
      << std::setw(9) << "EJECTED" << std::setw(10) << "FAILURES"
      << "  UNTIL\n";
  for (const auto& b : list)
    out << std::left << std::setw(22) << b.value("node", "") << std::setw(28)
        << b.value("service", "") << std::setw(9) << b.value("state", "")
        << std::right << std::setw(9) << b.value("consecutive_failures", 0)
        << std::setw(9) << b.value("times_ejected", 0) << std::setw(10)
        << b.value("failures", 0) << "  "
        << (b.contains("ejected_for_ms")
              ? "in " + std::to_string(b["ejected_for_ms"].get<int64_t>())
                  + " ms"
              : "-")
        << "\n";
  if (list.empty())
    out << "(no peer has answered a request yet)\n";
}

} // namespace

void print_explain(std::ostream& out, const nlohmann::json& e) {
  out << "policy:     " << e.value("policy", "") << "\n";
  std::string hooks;
  for (const auto& h : e.value("hooks", nlohmann::json::array()))
    hooks += (hooks.empty() ? "" : ", ") + h.get<std::string>();
  out << "hooks:      " << (hooks.empty() ? "(none)" : hooks) << "\n";
  if (e.value("dry_run", false))
    out << "dry run:    " << e.value("decision", "") << "\n";
  int n = 0;
  for (const auto& a : e.value("attempts", nlohmann::json::array())) {
    out << "attempt " << ++n << ":  " << a.value("node", "") << " "
        << a.value("status", "") << " in " << a.value("duration_us", 0)
        << " us";
    if (a.value("hedged", false))
      out << " (hedged)";
    if (a.value("probe", false))
      out << " (probe)";
    if (a.value("abandoned", false))
      out << " (dropped: another attempt answered first)";
    out << "\n";
  }
  for (const auto& s : e.value("skipped", nlohmann::json::array()))
    out << "skipped:    " << s.value("node", "") << ": "
        << s.value("reason", "") << "\n";
}

bool print_pipeline_human(std::ostream& out, const std::string& command,
                          const nlohmann::json& result) {
  if (command == "policies" && result.is_array())
    print_policies(out, result);
  else if (command == "policies")
    print_fields(out, result);
  else if (command == "policies_reload")
    out << "reloaded " << result.value("policies", 0) << " policies\n";
  else if (command == "hooks")
    print_hooks(out, result);
  else if (command == "breakers")
    print_breakers(out, result);
  else
    return false;
  return true;
}

} // namespace mesh
