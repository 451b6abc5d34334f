#define CAF_SUITE cluster.pipeline
#include "check.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_cluster.hpp"

// The dispatch pipeline through meshctl, on real nodes: policies from the
// config file (listed, shown, refused at start, reloaded by meshctl and by
// SIGHUP), hooks of a plug-in (context, rejection, a throwing pre- or
// post-hook, skipping), dry runs, the audit file, the rate limit and the
// explanation of a remote dispatch. Resilience under failures (outliers,
// hedging, the retry budget) is in pipeline_resilience_test.cpp.

using namespace mesh::test;
using nlohmann::json;

namespace {

struct ctl_result {
  int exit = -1;
  json doc; ///< null when meshctl printed no JSON
  std::string text;
};

ctl_result ctl(const std::string& http,
               const std::vector<std::string>& args) {
  auto r = meshctl(http, args);
  auto doc = json::parse(r.out, nullptr, false);
  return {r.exit_code, doc.is_discarded() ? json() : doc, r.out + r.err};
}

/// meshctl --json dispatch pipe Svc METHOD --payload PAYLOAD EXTRA...
ctl_result dispatch(const std::string& http, const std::string& method,
                    std::vector<std::string> extra = {},
                    const json& payload = json::object()) {
  std::vector<std::string> args{"dispatch", "pipe",      "Svc",
                                method,     "--payload", payload.dump()};
  args.insert(args.end(), extra.begin(), extra.end());
  return ctl(http, args);
}

/// How often each pipe handler ran on the node (its Stats handler, called
/// with `serve`; no policy names it).
json runs_on(const std::string& http) {
  auto r = meshctl_json(http, {"serve", "pipe", "Svc", "Stats"});
  return r["result"]["payload"]["runs"];
}

uint64_t runs_of(const std::string& http, const std::string& method) {
  return runs_on(http).value(method, uint64_t{0});
}

/// `meshctl hooks` result: {"hooks": {name: row}, "metrics": {...}}.
json hooks_of(const std::string& http) {
  auto r = meshctl_json(http, {"hooks"});
  json by_name = json::object();
  for (const auto& h : r["result"]["hooks"])
    by_name[h["name"].get<std::string>()] = h;
  return {{"hooks", by_name}, {"metrics", r["result"]["metrics"]}};
}

/// The names in a `meshctl policies` result (none when it is no list).
std::vector<std::string> names_of(const json& result) {
  std::vector<std::string> out;
  if (result.is_array())
    for (const auto& p : result)
      out.push_back(p.value("name", ""));
  return out;
}

bool has(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

json echo_policy() {
  return {{"name", "echo-hooks"},
          {"match", "pipe/Svc/Echo"},
          {"timeout_ms", 4000},
          {"retry", {{"max_attempts", 2}, {"retry_on", {"unavailable"}}}},
          {"hooks", {"tag", "post-explode", "count-post", "audit", "metrics"}}};
}

json gateway_policies() {
  return json::array(
    {echo_policy(),
     {{"name", "write-guard"},
      {"match", "pipe/Svc/Write"},
      {"hooks", {"deny"}}},
     {{"name", "down-explode"},
      {"match", "pipe/Svc/Down"},
      {"hooks", {"explode"}}},
     {{"name", "sleep-limited"},
      {"match", "pipe/Svc/Sleep"},
      {"rate_limit", {{"per_second", 0.05}, {"burst", 2}}}}});
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      lines.push_back(line);
  return lines;
}

} // namespace

CAF_TEST(policies from the config file are listed and shown) {
  temp_dir dir;
  auto node = start_configured(
    dir, pipe_config(dir, "p1",
                     {{"plugins", {pipe_plugin()}},
                      {"policies", gateway_policies()}}));
  auto list = meshctl_json(node->http(), {"policies"});
  auto names = names_of(list["result"]);
  for (const char* n : {"echo-hooks", "write-guard", "down-explode",
                        "sleep-limited", "default"})
    MESH_CHECK_MSG(has(names, n), "no policy " << n << " in " << list.dump());
  CAF_CHECK_EQUAL(names.size(), 5u);
  auto show = meshctl_json(node->http(), {"policies", "show", "echo-hooks"});
  const auto& p = show["result"];
  CAF_CHECK_EQUAL(p.value("name", ""), "echo-hooks");
  CAF_CHECK_EQUAL(p.value("match", ""), "pipe/Svc/Echo");
  CAF_CHECK_EQUAL(p.value("timeout_ms", 0), 4000);
  CAF_CHECK_EQUAL(p["retry"].value("max_attempts", 0), 2);
  CAF_CHECK_EQUAL(p["retry"]["retry_on"], json({"unavailable"}));
  auto echo_hooks = echo_policy()["hooks"];
  CAF_CHECK_EQUAL(p["hooks"], echo_hooks);
  CAF_CHECK_EQUAL(p["missing_hooks"], json::array());
  auto limited = meshctl_json(node->http(),
                              {"policies", "show", "sleep-limited"});
  const auto& limit = limited["result"]["rate_limit"];
  CAF_CHECK_EQUAL(limit.value("per_second", 0.0), 0.05);
  CAF_CHECK_EQUAL(limit.value("burst", 0), 2);
  auto missing = ctl(node->http(), {"policies", "show", "no-such-policy"});
  CAF_CHECK_EQUAL(missing.exit, 1);
  CAF_CHECK_EQUAL(missing.doc.value("status", ""), "not_found");
  MESH_CHECK_MSG(missing.text.find("no-such-policy") != std::string::npos,
                 missing.text);
}

CAF_TEST(a bad policy in the config file stops meshnode with exit 2) {
  temp_dir dir;
  auto cfg = pipe_config(
    dir, "bad",
    {{"policies",
      {{{"name", "broken"},
        {"match", "pipe/Svc/Echo"},
        {"retry", {{"max_attempts", 0}}}}}}});
  auto file = write_config(dir, cfg);
  auto r = run_program({bin("meshnode"), "--config", file}, 30s);
  CAF_CHECK_EQUAL(r.exit_code, 2);
  MESH_CHECK_MSG(r.out.empty(), "printed a ready line: " << r.out);
  auto where = file + ": /policies/0/retry/max_attempts: ";
  MESH_CHECK_MSG(r.err.find(where) != std::string::npos,
                 "stderr lacks '" << where << "': " << r.err);
}

CAF_TEST(a policy naming an unknown hook stops the start naming both) {
  temp_dir dir;
  auto cfg = pipe_config(dir, "nohook",
                         {{"plugins", {pipe_plugin()}},
                          {"policies",
                           {{{"name", "needs-hook"},
                             {"match", "pipe/*/*"},
                             {"hooks", {"tag", "no-such-hook"}}}}}});
  auto r = run_program({bin("meshnode"), "--config", write_config(dir, cfg)},
                       30s);
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
  MESH_CHECK_MSG(r.out.empty(), "printed a ready line: " << r.out);
  for (const char* phrase : {"policy 'needs-hook'", "hook 'no-such-hook'"})
    MESH_CHECK_MSG(r.err.find(phrase) != std::string::npos,
                   "stderr lacks \"" << phrase << "\": " << r.err);
}

CAF_TEST(policies reload from the edited file and keep the last good set) {
  temp_dir dir;
  auto one = json{{"name", "first"}, {"match", "pipe/*/*"}};
  auto two = json{{"name", "second"}, {"match", "pipe/Svc/*"}};
  auto three = json{{"name", "third"}, {"match", "pipe/Svc/Echo"}};
  auto cfg = pipe_config(dir, "reload", {{"policies", json::array({one})}});
  auto node = start_configured(dir, cfg);
  auto names = [&] {
    return names_of(meshctl_json(node->http(), {"policies"})["result"]);
  };
  CAF_CHECK(has(names(), "first"));
  CAF_CHECK(!has(names(), "second"));
  // An edit, then `policies reload`.
  cfg["policies"] = json::array({one, two});
  auto file = write_config(dir, cfg);
  auto ok = ctl(node->http(), {"policies", "reload"});
  MESH_CHECK_MSG(ok.exit == 0, ok.text);
  CAF_CHECK_EQUAL(ok.doc["result"].value("policies", 0), 2);
  CAF_CHECK(has(names(), "first"));
  CAF_CHECK(has(names(), "second"));
  // A broken file: refused, the last good set stays, exit non-zero.
  auto broken = cfg;
  broken["policies"] = json::array(
    {one, {{"name", "third"}, {"match", "pipe/Svc"}}});
  write_config(dir, broken);
  auto refused = ctl(node->http(), {"policies", "reload"});
  CAF_CHECK_NOT_EQUAL(refused.exit, 0);
  MESH_CHECK_MSG(refused.text.find(file + ": /policies/1/match")
                   != std::string::npos,
                 "the refusal does not name the file and pointer: "
                   << refused.text);
  auto kept = names();
  CAF_CHECK(has(kept, "first"));
  CAF_CHECK(has(kept, "second"));
  CAF_CHECK(!has(kept, "third"));
  // SIGHUP reads the file again too.
  cfg["policies"] = json::array({one, two, three});
  write_config(dir, cfg);
  CAF_REQUIRE_EQUAL(::kill(node->pid(), SIGHUP), 0);
  CAF_CHECK(await_condition([&] { return has(names(), "third"); }, 10s));
  CAF_CHECK(node->running());
}

CAF_TEST(hooks of a gateway run around a remote dispatch) {
  temp_dir dir;
  auto server = start_server(dir, "srv");
  auto audit = dir.file("audit.jsonl");
  auto gateway = start_configured(
    dir,
    pipe_config(dir, "gw",
                {{"plugins", {pipe_plugin()}},
                 {"namespaces", {"pipe"}},
                 {"cluster", {{"seeds", {server->listen()}}}},
                 {"policies", gateway_policies()},
                 {"audit", {{"file", audit}}}}),
    {"MESH_TEST_PIPE_HANDLERS=0"});
  const auto& gw = gateway->http();
  CAF_REQUIRE(await_condition([&] { return sees(gw, {"srv"}); }));
  // Every Echo through the gateway runs the echo-hooks policy: count them.
  uint64_t echoes = 0;
  CAF_REQUIRE(await_condition([&] {
    ++echoes;
    return dispatch(gw, "Echo").exit == 0;
  }));
  // Context from the gateway's pre-hook reaches the handler on the server;
  // the explanation names the policy, the hooks run and the attempt.
  auto echo = dispatch(gw, "Echo", {"--explain", "--trace", "t-echo"},
                       {{"x", 1}});
  ++echoes;
  MESH_CHECK_MSG(echo.exit == 0, echo.text);
  CAF_CHECK_EQUAL(echo.doc.value("status", ""), "ok");
  CAF_CHECK_EQUAL(result_of(echo.doc).value("handled_by", ""), "srv");
  const auto& payload = echo.doc["result"]["payload"];
  CAF_CHECK_EQUAL(payload.value("node", ""), "srv");
  CAF_CHECK_EQUAL(payload["context"], json({{"tagged_by", "gw"}}));
  CAF_CHECK_EQUAL(payload["in"], json({{"x", 1}}));
  const auto& ex = echo.doc["result"]["explain"];
  CAF_CHECK_EQUAL(ex.value("policy", ""), "echo-hooks");
  auto echo_hooks = echo_policy()["hooks"];
  CAF_CHECK_EQUAL(ex["hooks"], echo_hooks);
  CAF_REQUIRE_EQUAL(attempts_of(echo.doc).size(), 1u);
  CAF_CHECK_EQUAL(ex["attempts"][0].value("node", ""), "srv");
  CAF_CHECK_EQUAL(ex["attempts"][0].value("status", ""), "ok");
  CAF_CHECK_EQUAL(ex["attempts"][0].value("hedged", true), false);
  // Without --explain the reply carries no explanation.
  auto plain = dispatch(gw, "Echo");
  ++echoes;
  CAF_CHECK_EQUAL(plain.exit, 0);
  CAF_CHECK(!result_of(plain.doc).contains("explain"));
  CAF_CHECK(!plain.doc.contains("explain"));
  // A post-hook that throws never changes the answer; its failures count.
  auto hooks = hooks_of(gw);
  const auto& post = hooks["hooks"]["post-explode"];
  CAF_CHECK_EQUAL(post.value("stage", ""), "post");
  CAF_CHECK_EQUAL(post.value("builtin", true), false);
  CAF_CHECK_EQUAL(post.value("calls", uint64_t{0}), echoes);
  CAF_CHECK_EQUAL(post.value("failed", uint64_t{0}), echoes);
  CAF_CHECK_EQUAL(hooks["hooks"]["tag"].value("calls", uint64_t{0}), echoes);
  CAF_CHECK_EQUAL(hooks["hooks"]["count-post"].value("calls", uint64_t{0}),
                  echoes);
  CAF_CHECK_EQUAL(hooks["hooks"]["count-post"].value("failed", uint64_t{1}),
                  0u);
  CAF_CHECK_EQUAL(hooks["hooks"]["audit"].value("builtin", false), true);
  CAF_CHECK_EQUAL(hooks["metrics"]["pipe/Svc/Echo"].value("requests",
                                                          uint64_t{0}),
                  echoes);
  // Without the tag hook the next request carries no context: nothing of
  // the last one stays in the batch the router fills again for this peer.
  auto untagged = dispatch(gw, "Echo", {"--skip-hooks", "tag"}, {{"x", 2}});
  ++echoes; // audited like the others
  MESH_CHECK_MSG(untagged.exit == 0, untagged.text);
  CAF_CHECK_EQUAL(untagged.doc["result"]["payload"]["context"],
                  json::object());
  CAF_CHECK_EQUAL(untagged.doc["result"]["payload"]["in"], json({{"x", 2}}));
  // "deny" rejects before any handler runs; skipping it lets Write run.
  CAF_CHECK_EQUAL(runs_of(server->http(), "Write"), 0u);
  auto denied = dispatch(gw, "Write", {"--explain"});
  CAF_CHECK_EQUAL(denied.exit, 1);
  CAF_CHECK_EQUAL(denied.doc.value("status", ""), "permission_denied");
  MESH_CHECK_MSG(denied.doc.value("error", "").find("denied by test hook")
                   != std::string::npos,
                 denied.text);
  CAF_CHECK_EQUAL(attempts_of(denied.doc).size(), 0u);
  CAF_CHECK_EQUAL(denied.doc["result"]["explain"]["hooks"], json({"deny"}));
  CAF_CHECK_EQUAL(runs_of(server->http(), "Write"), 0u);
  auto skipped = dispatch(gw, "Write", {"--explain", "--skip-hooks", "deny"});
  MESH_CHECK_MSG(skipped.exit == 0, skipped.text);
  CAF_CHECK_EQUAL(result_of(skipped.doc).value("handled_by", ""), "srv");
  CAF_CHECK_EQUAL(skipped.doc["result"]["explain"]["hooks"], json::array());
  CAF_CHECK_EQUAL(runs_of(server->http(), "Write"), 1u);
  CAF_CHECK_EQUAL(hooks_of(gw)["hooks"]["deny"].value("rejected", 0), 1);
  // A pre-hook that throws: handler_error naming it, no handler ran.
  auto exploded = dispatch(gw, "Down");
  CAF_CHECK_EQUAL(exploded.exit, 1);
  CAF_CHECK_EQUAL(exploded.doc.value("status", ""), "handler_error");
  MESH_CHECK_MSG(exploded.doc.value("error", "").find("hook explode")
                   != std::string::npos,
                 exploded.text);
  CAF_CHECK_EQUAL(runs_of(server->http(), "Down"), 0u);
  CAF_CHECK_EQUAL(hooks_of(gw)["hooks"]["explode"].value("failed", 0), 1);
  // A dry run: ok, says who would run it, and runs nothing.
  auto echo_runs = runs_of(server->http(), "Echo");
  auto dry = dispatch(gw, "Echo", {"--dry-run", "--trace", "t-dry"});
  ++echoes;
  MESH_CHECK_MSG(dry.exit == 0, dry.text);
  CAF_CHECK_EQUAL(dry.doc.value("status", ""), "ok");
  CAF_CHECK_EQUAL(dry.doc["result"]["explain"].value("dry_run", false), true);
  auto decision = dry.doc["result"]["explain"].value("decision", "");
  MESH_CHECK_MSG(decision.find("would run on srv") != std::string::npos,
                 "decision: " << decision);
  CAF_CHECK_EQUAL(attempts_of(dry.doc).size(), 0u);
  CAF_CHECK_EQUAL(runs_of(server->http(), "Echo"), echo_runs);
  // The audit hook: one JSON line per Echo request, with its trace id.
  std::vector<std::string> lines;
  bool all_there = await_condition(
    [&] {
      lines = read_lines(audit);
      if (lines.size() < echoes)
        std::this_thread::sleep_for(20ms); // a file, not an event: poll it
      return lines.size() >= echoes;
    },
    10s);
  MESH_CHECK_MSG(all_there, lines.size() << " audit lines, " << echoes
                                         << " requests");
  CAF_CHECK_EQUAL(lines.size(), echoes);
  std::map<std::string, json> by_trace;
  for (const auto& l : lines) {
    auto j = json::parse(l, nullptr, false);
    MESH_CHECK_MSG(!j.is_discarded() && j.is_object(), "audit line: " << l);
    if (j.is_object()) {
      CAF_CHECK_EQUAL(j.value("path", ""), "pipe/Svc/Echo");
      CAF_CHECK_EQUAL(j.value("policy", ""), "echo-hooks");
      by_trace[j.value("trace_id", "")] = j;
    }
  }
  CAF_CHECK_EQUAL(by_trace.size(), lines.size()); // one line per trace id
  CAF_REQUIRE(by_trace.count("t-echo") == 1);
  CAF_CHECK_EQUAL(by_trace["t-echo"].value("status", ""), "ok");
  CAF_CHECK_EQUAL(by_trace["t-echo"].value("handled_by", ""), "srv");
  CAF_CHECK_EQUAL(by_trace["t-echo"].value("node", ""), "gw");
  CAF_CHECK_EQUAL(by_trace["t-echo"].value("attempts", 0), 1);
  CAF_CHECK_EQUAL(by_trace.count("t-dry"), 1u);
}

CAF_TEST(a rate limit answers overloaded at once past its burst) {
  temp_dir dir;
  auto node = start_configured(
    dir, pipe_config(dir, "limited",
                     {{"plugins", {pipe_plugin()}},
                      {"policies", gateway_policies()}}));
  // per_second 0.05, burst 2: two pass, the third (well within the 20 s a
  // token takes to come back, even for three meshctl runs under the
  // sanitizers) is refused before anything runs.
  auto start = clock_type::now();
  std::vector<ctl_result> rs;
  for (int i = 0; i < 3; ++i)
    rs.push_back(dispatch(node->http(), "Sleep", {"--explain"},
                          {{"ms", 0}}));
  auto elapsed_ms = us_since(start) / 1000;
  CAF_MESSAGE("three requests in " << elapsed_ms << " ms");
  CAF_REQUIRE_LESS(elapsed_ms, 15000);
  MESH_CHECK_MSG(rs[0].exit == 0, rs[0].text);
  MESH_CHECK_MSG(rs[1].exit == 0, rs[1].text);
  CAF_CHECK_EQUAL(rs[2].exit, 1);
  CAF_CHECK_EQUAL(rs[2].doc.value("status", ""), "overloaded");
  MESH_CHECK_MSG(rs[2].doc.value("error", "").find("sleep-limited")
                   != std::string::npos,
                 rs[2].text);
  MESH_CHECK_MSG(rs[2].doc.value("error", "").find("(0.05 requests/s)")
                   != std::string::npos,
                 rs[2].text);
  CAF_CHECK_EQUAL(attempts_of(rs[2].doc).size(), 0u);
  CAF_CHECK_EQUAL(result_of(rs[2].doc).value("handled_by", "x"), "");
  CAF_CHECK_EQUAL(runs_of(node->http(), "Sleep"), 2u);
}
