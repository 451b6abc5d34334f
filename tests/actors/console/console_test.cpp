#define CAF_SUITE actors.console
#include "fixtures.hpp"

#include "actors/console/console.hpp"
#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

struct fixture : test::actor_fixture {
  std::shared_ptr<test::manual_runner> runner
    = std::make_shared<test::manual_runner>();
  caf::actor reg, router, console;

  fixture() {
    registry_config rc;
    rc.node_id = "node-a";
    rc.runner_factory = [r = runner](size_t) { return r; };
    reg = caf::actor_cast<caf::actor>(spawn_registry(sys, rc));
    router_config ro;
    ro.node_id = "node-a";
    ro.registry = caf::actor_cast<registry_actor>(reg);
    router = caf::actor_cast<caf::actor>(spawn_request_router(sys, ro));
    console_config cc;
    cc.node_id = "node-a";
    cc.listen = "127.0.0.1:1";
    cc.console = "127.0.0.1:2";
    cc.started = std::chrono::system_clock::now();
    cc.router = caf::actor_cast<router_actor>(router);
    cc.registry = caf::actor_cast<registry_actor>(reg);
    console = caf::actor_cast<caf::actor>(spawn_console(sys, cc));
    ask<caf::ok_atom>(reg, atom::add_v,
                      make_json_handler({"echo", "EchoService", "Echo"},
                                        [](const call_context&,
                                           const json& in) { return in; }));
  }

  ~fixture() {
    stop({console, router, reg});
  }

  json command(const json& cmd) {
    auto h = self->request(console, caf::infinite, atom::console_v, std::string{}, cmd.dump());
    run();
    runner->run_all();
    run();
    json result;
    h.receive([&](std::string& text) { result = json::parse(text); },
              [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(console_tests, fixture)

CAF_TEST(status reports id and addresses and namespaces and handlers) {
  auto r = command({{"cmd", "status"}});
  CAF_REQUIRE_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["code"], 0);
  CAF_CHECK_EQUAL(r["result"]["id"], "node-a");
  CAF_CHECK_EQUAL(r["result"]["console"], "127.0.0.1:2");
  CAF_CHECK_EQUAL(r["result"]["handlers"], 1);
  CAF_CHECK_EQUAL(r["result"]["namespaces"], json::array({"echo"}));
}

CAF_TEST(handlers lists the registered handlers) {
  auto r = command({{"cmd", "handlers"}});
  CAF_REQUIRE_EQUAL(r["ok"], true);
  CAF_REQUIRE_EQUAL(r["result"].size(), 1u);
  CAF_CHECK_EQUAL(r["result"][0]["handler"], "echo/EchoService/Echo");
}

CAF_TEST(dispatch carries the JSON payload both ways) {
  auto r = command({{"cmd", "dispatch"},
                    {"namespace", "echo"},
                    {"service", "EchoService"},
                    {"method", "Echo"},
                    {"trace", "t-1"},
                    {"payload", {{"hello", "world"}}}});
  // The one envelope: ok, status, code, and the answer under "result".
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(r["code"], 0);
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "node-a");
  CAF_CHECK_EQUAL(r["result"]["trace_id"], "t-1");
  CAF_CHECK_EQUAL(r["result"]["payload"]["hello"], "world");
  CAF_CHECK(!r.contains("payload"));
}

CAF_TEST(a failed dispatch reports its status and error) {
  auto r = command({{"cmd", "dispatch"},
                    {"namespace", "echo"},
                    {"service", "EchoService"},
                    {"method", "Nope"}});
  CAF_CHECK_EQUAL(r["ok"], false);
  CAF_CHECK_EQUAL(r["status"], "not_found");
  CAF_CHECK_EQUAL(r["code"], 5);
  CAF_CHECK(r["error"].get<std::string>().find("Nope") != std::string::npos);
  // Who answered and the trace id stay known for a failure.
  CAF_CHECK(r["result"].contains("handled_by"));
  CAF_CHECK(r["result"].contains("trace_id"));
  CAF_CHECK(!r["result"].contains("payload"));
}

CAF_TEST(bad commands are answered with a clear error) {
  auto r = command({{"cmd", "frobnicate"}});
  CAF_CHECK_EQUAL(r["status"], "not_found");
  CAF_CHECK(r["error"].get<std::string>().find("frobnicate") != std::string::npos);
  r = command({{"nocmd", 1}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  auto h = self->request(console, caf::infinite, atom::console_v,
                         std::string{}, std::string{"{not json"});
  run();
  h.receive([](std::string& text) {
              CAF_CHECK_EQUAL(json::parse(text).value("status", ""), "invalid_argument");
            },
            [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  r = command({{"cmd", "dispatch"}, {"deadline_ms", "soon"}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  // 2^32 + 1 is refused, not narrowed to 1 ms.
  r = command({{"cmd", "dispatch"}, {"deadline_ms", 4294967297ull}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  CAF_CHECK(r.value("error", "").find("from 0 to 4294967295")
            != std::string::npos);
}

CAF_TEST(malformed directives are invalid_argument naming the directive) {
  auto base = json{{"cmd", "dispatch"}, {"namespace", "echo"},
                   {"service", "EchoService"}, {"method", "Echo"}};
  auto bad = [&](const char* key, json value) {
    auto cmd = base;
    cmd[key] = std::move(value);
    auto r = command(cmd);
    CAF_CHECK_EQUAL(r["status"], "invalid_argument");
    CAF_CHECK(r.value("error", "").find(key) != std::string::npos);
  };
  bad("skip_hooks", "audit");                 // not a list
  bad("skip_hooks", json::array({1, 2}));     // not names
  bad("skip_hooks", json::array({json::array({json::array({"deep"})})}));
  bad("timeout_ms", -5);
  bad("timeout_ms", 1e12);                    // beyond the limit
  bad("timeout_ms", "soon");
  bad("max_attempts", 4294967296.0);
  bad("hedge", "maybe");
  bad("hedge", true);
  bad("dry_run", "yes");
  bad("explain", 1);
  // A hook name that is not UTF-8 never reaches the router.
  std::string text = R"({"cmd":"dispatch","namespace":"echo",)"
                     R"("service":"EchoService","method":"Echo",)"
                     R"("skip_hooks":[")"
                     + std::string{"\xff\xfe"} + R"("]})";
  auto h = self->request(console, caf::infinite, atom::console_v,
                         std::string{}, text);
  run();
  h.receive([](std::string& reply) {
              CAF_CHECK_EQUAL(json::parse(reply).value("status", ""),
                              "invalid_argument");
            },
            [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  // Well-formed directives pass.
  auto good = base;
  good["skip_hooks"] = json::array({"audit"});
  good["hedge"] = "off";
  good["max_attempts"] = 1;
  good["explain"] = true;
  auto ok = command(good);
  CAF_CHECK_EQUAL(ok.value("status", ""), "ok");
}

CAF_TEST(namespaces and validator change the registry) {
  auto r = command({{"cmd", "namespaces"}, {"action", "add"},
                    {"namespace", "extra"}});
  CAF_CHECK_EQUAL(r["ok"], true);
  r = command({{"cmd", "status"}});
  CAF_CHECK_EQUAL(r["result"]["namespaces"], json::array({"echo", "extra"}));
  r = command({{"cmd", "validator"}, {"allow", {"other/*/*"}}});
  CAF_CHECK_EQUAL(r["ok"], true);
  r = command({{"cmd", "dispatch"}, {"namespace", "echo"},
               {"service", "EchoService"}, {"method", "Echo"}});
  CAF_CHECK_EQUAL(r["status"], "not_found");
  CAF_CHECK(r["error"].get<std::string>().find("not registered")
            != std::string::npos);
  r = command({{"cmd", "validator"}, {"allow", {"bad pattern"}}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  r = command({{"cmd", "validator"}, {"allow", {"a/*/*", 7}}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  CAF_CHECK_EQUAL(r["error"], "\"allow\" must be a list of patterns (strings)");
}

CAF_TEST(a request to an empty actor slot reads as unavailable) {
  // What a command meets while the actor it asks restarts: CAF answers a
  // request to an empty handle with its invalid_argument, no internal error.
  registry_actor none;
  auto h = self->request(none, caf::infinite, atom::stats_v);
  run();
  bool answered = false;
  h.receive([](const nlohmann::json&) { CAF_FAIL("an empty slot answered"); },
            [&](caf::error& err) {
              answered = true;
              CAF_CHECK(to_status_code(err) == status_code::unavailable);
              CAF_CHECK(error_text(err).find("is not running")
                        != std::string::npos);
            });
  CAF_CHECK(answered);
}

CAF_TEST(an argument of the wrong JSON type is refused in plain words) {
  // "action" read as a string: a number is no action.
  auto r = command({{"cmd", "manifests"}, {"action", 5}});
  CAF_CHECK_EQUAL(r["status"], "invalid_argument");
  auto text = r["error"].get<std::string>();
  CAF_MESSAGE(text);
  CAF_CHECK(text.rfind("bad arguments for 'manifests': an argument has the "
                       "wrong JSON type (",
                       0)
            == 0);
  CAF_CHECK(text.find("json.exception") == std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
