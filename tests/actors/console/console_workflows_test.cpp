#define CAF_SUITE actors.console_workflows
#include "fixtures.hpp"

#include "actors/console/console.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "protocol/messaging/local_types.hpp"

using namespace mesh;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A fake workflow runner: records every message and answers canned JSON.
struct runner_script {
  std::vector<json> received; // {"msg": NAME, "arg": what came with it}
  json reload = {{"loaded", {"order"}},
                 {"failed", json::array()},
                 {"removed", json::array()},
                 {"kept", json::array()}};
  bool hold = false; // run and cancel requests stay unanswered...
  std::vector<caf::typed_response_promise<json>> held;
  json release; // ... until a tick answers them with this
};

workflows_actor::behavior_type fake_runner(workflows_actor::pointer self,
                                           std::shared_ptr<runner_script> s) {
  auto note = [s](const char* msg, json arg) {
    s->received.push_back({{"msg", msg}, {"arg", std::move(arg)}});
  };
  auto answer = [self, s](json doc) -> caf::result<json> {
    if (!s->hold)
      return json_result(std::move(doc));
    auto rp = self->make_response_promise<json>();
    s->held.push_back(rp);
    return rp;
  };
  return {
    [note](atom::workflows) -> caf::result<json> {
      note("workflows", nullptr);
      return json_result({{"workflows", json::array({{{"name", "order"}}})}});
    },
    [note](atom::workflows, const std::string& name) -> caf::result<json> {
      note("workflow", name);
      if (name != "order")
        return make_error(status_code::not_found, "no workflow named " + name);
      return json_result({{"name", name}, {"definition", json::object()}});
    },
    [note, s](atom::reload) -> caf::result<json> {
      note("reload", nullptr);
      return json_result(s->reload);
    },
    [note, answer](atom::run, const json& req) -> caf::result<json> {
      note("run", req);
      if (req.value("async", false))
        return json_result({{"run_id", "r-9"}, {"status", "running"}});
      return answer({{"id", "r-1"}, {"status", "success"}});
    },
    [note](atom::runs, const json& q) -> caf::result<json> {
      note("runs", q);
      return json_result({{"runs", json::array()}});
    },
    [note](atom::runs, const std::string& id) -> caf::result<json> {
      note("show_run", id);
      return json_result({{"id", id}, {"status", "failed"}});
    },
    [note, answer](atom::cancel, const std::string& id) -> caf::result<json> {
      note("cancel", id);
      return answer({{"id", id}, {"status", "cancelled"}});
    },
    [](atom::drain) { return caf::ok_atom::value; },
    [](atom::stats) -> caf::result<json> { return json_result({}); },
    [s](atom::tick) {
      for (auto& rp : s->held)
        rp.deliver(s->release);
      s->held.clear();
    },
  };
}

struct fixture : test::actor_fixture {
  std::shared_ptr<runner_script> script = std::make_shared<runner_script>();
  caf::actor runner, console;

  fixture() {
    auto fake = sys.spawn(fake_runner, script);
    runner = caf::actor_cast<caf::actor>(fake);
    console = make_console(fake);
  }

  ~fixture() {
    stop({console, runner});
  }

  caf::actor make_console(workflows_actor workflows) {
    console_config cc;
    cc.node_id = "node-a";
    cc.started = std::chrono::system_clock::now();
    cc.workflows = std::move(workflows);
    return caf::actor_cast<caf::actor>(spawn_console(sys, cc));
  }

  /// Sends a command and runs the actors; the reply may not be there yet.
  auto send(const json& cmd, const caf::actor& to = {}) {
    auto h = self->request(to ? to : console, caf::infinite,
                           atom::console_v, std::string{}, cmd.dump());
    run();
    return h;
  }

  template <class Handle>
  json reply_of(Handle& h) {
    CAF_REQUIRE(!self->mailbox().empty());
    json result;
    h.receive([&](std::string& text) { result = json::parse(text); },
              [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }

  json command(const json& cmd, const caf::actor& to = {}) {
    auto h = send(cmd, to);
    return reply_of(h);
  }

  /// The command is refused as invalid_argument naming `field`, and the
  /// runner hears nothing of it.
  void refused(const json& cmd, const std::string& field) {
    auto before = script->received.size();
    auto r = command(cmd);
    CAF_CHECK_EQUAL(r["ok"], false);
    CAF_CHECK_EQUAL(r["status"], "invalid_argument");
    auto error = r.value("error", "");
    auto named = error.find("\"" + field + "\"") != std::string::npos;
    CAF_CHECK(named);
    if (!named)
      CAF_MESSAGE(cmd.dump() << " was refused with: " << error);
    CAF_CHECK_EQUAL(script->received.size(), before);
  }

  /// The runner answers what it holds with `doc` (from its own thread).
  void release(json doc) {
    script->release = std::move(doc);
    self->send(caf::actor_cast<workflows_actor>(runner), atom::tick_v);
    run();
  }

  const json& last() {
    CAF_REQUIRE(!script->received.empty());
    return script->received.back();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(console_workflows_tests, fixture)

CAF_TEST(workflows and workflow forward to the runner) {
  auto r = command({{"cmd", "workflows"}});
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"]["workflows"][0]["name"], "order");
  CAF_CHECK_EQUAL(last(), json({{"msg", "workflows"}, {"arg", nullptr}}));
  r = command({{"cmd", "workflow"}, {"name", "order"}, {"action", "show"}});
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"]["name"], "order");
  CAF_CHECK_EQUAL(last(), json({{"msg", "workflow"}, {"arg", "order"}}));
  r = command({{"cmd", "workflow"}, {"name", "nope"}}); // show by default
  CAF_CHECK_EQUAL(last(), json({{"msg", "workflow"}, {"arg", "nope"}}));
  CAF_CHECK_EQUAL(r["status"], "not_found");
  CAF_CHECK(r.value("error", "").find("nope") != std::string::npos);
}

CAF_TEST(workflow refuses a missing name and an unknown action) {
  refused({{"cmd", "workflow"}}, "name");
  refused({{"cmd", "workflow"}, {"name", 5}}, "name");
  refused({{"cmd", "workflow"}, {"name", ""}}, "name");
  refused({{"cmd", "workflow"}, {"name", "order"}, {"action", "run"}},
          "action");
  refused({{"cmd", "workflow"}, {"name", "order"}, {"action", true}},
          "action");
}

CAF_TEST(workflows_reload with failures is not ok) {
  auto r = command({{"cmd", "workflows_reload"}});
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"]["loaded"], json({"order"}));
  CAF_CHECK_EQUAL(last()["msg"], "reload");
  script->reload["failed"] = {{{"file", "a.json"}}, {{"file", "b.json"}}};
  r = command({{"cmd", "workflows_reload"}});
  CAF_CHECK_EQUAL(r["ok"], false);
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  CAF_CHECK_EQUAL(r["error"], "2 workflow file(s) failed to load");
  CAF_CHECK_EQUAL(r["result"], script->reload);
}

CAF_TEST(workflow_run forwards the request) {
  auto r = command({{"cmd", "workflow_run"},
                    {"name", "order"},
                    {"input", {{"qty", 2}}},
                    {"context", {{"user", "u1"}}},
                    {"trace_id", "t-1"}});
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"], json({{"id", "r-1"}, {"status", "success"}}));
  CAF_CHECK_EQUAL(last(), json({{"msg", "run"},
                                {"arg",
                                 {{"workflow", "order"},
                                  {"input", {{"qty", 2}}},
                                  {"context", {{"user", "u1"}}},
                                  {"trace_id", "t-1"},
                                  {"async", false}}}}));
  // An ad-hoc definition; a trace id is made up when none is given.
  json def{{"name", "adhoc"}, {"steps", json::array()}};
  r = command({{"cmd", "workflow_run"}, {"definition", def}, {"async", true}});
  CAF_CHECK_EQUAL(r["result"]["run_id"], "r-9");
  const auto& req = last()["arg"];
  CAF_CHECK_EQUAL(req["definition"], def);
  CAF_CHECK(!req.contains("workflow"));
  CAF_CHECK(!req.contains("input"));
  CAF_CHECK_EQUAL(req["async"], true);
  CAF_CHECK_EQUAL(req["trace_id"].get<std::string>().size(), 32u);
}

CAF_TEST(workflow_run refuses malformed arguments naming them) {
  json run{{"cmd", "workflow_run"}, {"name", "order"}};
  auto with = [&](const char* key, json value) {
    auto cmd = run;
    cmd[key] = std::move(value);
    return cmd;
  };
  refused({{"cmd", "workflow_run"}}, "name");
  refused(with("name", 7), "name");
  refused(with("definition", json::object()), "definition"); // both
  refused({{"cmd", "workflow_run"}, {"definition", "x"}}, "definition");
  refused(with("context", json::array()), "context");
  refused(with("trace_id", 1), "trace_id");
  refused(with("async", "yes"), "async");
  refused(with("wait_ms", 0), "wait_ms");
  refused(with("wait_ms", 86400001), "wait_ms");
  refused(with("wait_ms", -1), "wait_ms");
  refused(with("wait_ms", 1.5), "wait_ms");
  refused(with("wait_ms", "soon"), "wait_ms");
  // The bounds themselves are accepted.
  for (int64_t wait : {int64_t{1}, int64_t{86400000}}) {
    auto r = command(with("wait_ms", wait));
    CAF_CHECK_EQUAL(r["ok"], true);
    // wait_ms is the console's, not the runner's
    CAF_CHECK(!last()["arg"].contains("wait_ms"));
  }
}

CAF_TEST(workflow_run waits wait_ms not the five seconds of other commands) {
  script->hold = true;
  auto h = send({{"cmd", "workflow_run"}, {"name", "order"},
                 {"wait_ms", 10000}});
  CAF_REQUIRE_EQUAL(script->held.size(), 1u);
  advance_time(9s); // long past console_ask_timeout
  run();
  CAF_CHECK(self->mailbox().empty());
  release(json{{"id", "r-1"}, {"status", "failed"}});
  auto r = reply_of(h);
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"]["status"], "failed");
}

CAF_TEST(workflow_run gives up after wait_ms and says the run goes on) {
  script->hold = true;
  auto h = send({{"cmd", "workflow_run"}, {"name", "order"},
                 {"trace_id", "t-7"}}); // default wait: 300000 ms
  advance_time(299s);
  run();
  CAF_CHECK(self->mailbox().empty());
  advance_time(5s);
  run();
  auto r = reply_of(h);
  CAF_CHECK_EQUAL(r["ok"], false);
  CAF_CHECK_EQUAL(r["status"], "deadline_exceeded");
  auto error = r.value("error", "");
  CAF_CHECK(error.find("300000 ms") != std::string::npos);
  CAF_CHECK(error.find("t-7") != std::string::npos);
}

CAF_TEST(runs forwards the query and checks its fields) {
  auto r = command({{"cmd", "runs"},
                    {"workflow", "order"},
                    {"status", "failed"},
                    {"limit", 5}});
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["result"], json({{"runs", json::array()}}));
  CAF_CHECK_EQUAL(last(),
                  json({{"msg", "runs"},
                        {"arg",
                         {{"workflow", "order"}, {"status", "failed"},
                          {"limit", 5}}}}));
  command({{"cmd", "runs"}});
  CAF_CHECK_EQUAL(last(), json({{"msg", "runs"}, {"arg", json::object()}}));
  command({{"cmd", "runs"}, {"limit", 1}});
  CAF_CHECK_EQUAL(last()["arg"]["limit"], 1);
  command({{"cmd", "runs"}, {"limit", 10000}});
  CAF_CHECK_EQUAL(last()["arg"]["limit"], 10000);
  refused({{"cmd", "runs"}, {"limit", 0}}, "limit");
  refused({{"cmd", "runs"}, {"limit", 10001}}, "limit");
  refused({{"cmd", "runs"}, {"limit", "5"}}, "limit");
  refused({{"cmd", "runs"}, {"limit", 2.5}}, "limit");
  refused({{"cmd", "runs"}, {"status", 3}}, "status");
  refused({{"cmd", "runs"}, {"workflow", json::array()}}, "workflow");
}

CAF_TEST(run shows or cancels one run) {
  auto r = command({{"cmd", "run"}, {"id", "r-1"}});
  CAF_CHECK_EQUAL(r["result"], json({{"id", "r-1"}, {"status", "failed"}}));
  CAF_CHECK_EQUAL(last(), json({{"msg", "show_run"}, {"arg", "r-1"}}));
  r = command({{"cmd", "run"}, {"id", "r-2"}, {"action", "cancel"}});
  CAF_CHECK_EQUAL(r["result"]["status"], "cancelled");
  CAF_CHECK_EQUAL(last(), json({{"msg", "cancel"}, {"arg", "r-2"}}));
  refused({{"cmd", "run"}}, "id");
  refused({{"cmd", "run"}, {"id", 12}}, "id");
  refused({{"cmd", "run"}, {"id", "r-1"}, {"action", "delete"}}, "action");
  refused({{"cmd", "run"}, {"id", "r-1"}, {"action", "cancel"},
           {"wait_ms", 0}},
          "wait_ms");
}

CAF_TEST(a cancel waits for the end of the run beyond five seconds) {
  script->hold = true;
  auto h = send({{"cmd", "run"}, {"id", "r-1"}, {"action", "cancel"}});
  advance_time(60s);
  run();
  CAF_CHECK(self->mailbox().empty());
  CAF_REQUIRE_EQUAL(script->held.size(), 1u);
  release(json{{"id", "r-1"}, {"status", "cancelled"}});
  auto r = reply_of(h);
  CAF_CHECK_EQUAL(r["result"]["status"], "cancelled");
}

CAF_TEST(without a runner every command is unavailable) {
  auto bare = make_console(workflows_actor{});
  for (auto cmd : {json{{"cmd", "workflows"}},
                   json{{"cmd", "workflow"}, {"name", "order"}},
                   json{{"cmd", "workflows_reload"}},
                   json{{"cmd", "workflow_run"}, {"name", "order"}},
                   json{{"cmd", "runs"}},
                   json{{"cmd", "run"}, {"id", "r-1"}},
                   json{{"cmd", "run"}, {"id", "r-1"}, {"action", "cancel"}}}) {
    auto r = command(cmd, bare);
    CAF_CHECK_EQUAL(r["ok"], false);
    CAF_CHECK_EQUAL(r["status"], "unavailable");
    CAF_CHECK_EQUAL(r["error"],
                    "node node-a has no workflow runner (start it with "
                    "--workflows DIR)");
  }
  CAF_CHECK(script->received.empty());
  stop({bare});
}

CAF_TEST_FIXTURE_SCOPE_END()
