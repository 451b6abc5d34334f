#define CAF_SUITE cluster.supervision
#include "check.hpp"

#include <thread>

#include "process.hpp"
#include "temp_dir.hpp"

// An actor of the node that dies (an injected failure) is restarted in
// place with its state rebuilt while the node keeps serving (the gate and
// the console on the ports their predecessors held); `meshctl status` shows
// each actor's health and restarts; a new connection manager finds the
// node's peers again. Too many restarts in the window stop the node with
// exit code 70 and a log that says why.

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string manifests = std::string{MESH_SOURCE_DIR}
                              + "/examples/manifests";

// Topics config of node `id`: a record dispatcher rec-ID for "orders.>".
json record_topics(const std::string& id) {
  return {{"dispatchers", json::array({{{"id", "rec-" + id},
                                        {"kind", "record"},
                                        {"category", "event"},
                                        {"keep", 100}}})},
          {"routes", json::array({{{"id", "orders-" + id},
                                   {"pattern", "orders.>"},
                                   {"category", "event"},
                                   {"dispatcher", "rec-" + id}}})}};
}

// Node a: example handlers, the example manifests, a record dispatcher for
// "orders.>", and whatever `limits` says.
std::vector<std::string> victim_args(const temp_dir& dir,
                                     json limits = json::object()) {
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", "127.0.0.1:0"},
           {"plugins", json::array({bin("libmesh_example_handlers.so")})},
           {"manifests", manifests},
           // Its handlers' namespaces, and "test", which only b serves.
           {"namespaces", json::array({"echo", "inventory", "notify", "orders",
                                       "pricing", "recommend", "users",
                                       "test"})},
           {"data_dir", dir.path()},
           {"limits", limits},
           {"topics", record_topics("a")}};
  auto file = dir.write("a.json", cfg.dump());
  return {"--config", file, "--id", "a", "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "6"};
}

// Node b: the test handlers (test/Faults/Echo runs only there) and its own
// record dispatcher for "orders.>".
std::vector<std::string> peer_args(const temp_dir& dir,
                                   const std::string& seed) {
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", "127.0.0.1:0"},
           {"plugins", json::array({bin("libmesh_test_handlers.so")})},
           {"topics", record_topics("b")}};
  auto file = dir.write("b.json", cfg.dump());
  return {"--config", file, "--id", "b", "--seeds", seed,
          "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "6"};
}

const std::vector<std::string> inject_env{"MESH_TEST_INJECT_FAILURES=1"};

json actor_row(const std::string& http, const std::string& name) {
  auto r = meshctl(http, {"status"});
  if (r.exit_code != 0)
    return nullptr;
  auto status = json::parse(r.out);
  for (const auto& row : status["result"].value("actors", json::array()))
    if (row.value("name", "") == name)
      return row;
  return nullptr;
}

// Every way to work, tried on node a: each must still answer well.
void check_serving(const node_process& a, const node_process& b) {
  auto local = meshctl_json(a.http(), {"dispatch", "echo", "EchoService",
                                          "Echo", "--payload", R"({"n":1})"});
  CAF_CHECK_EQUAL(local["status"], "ok");
  CAF_CHECK_EQUAL(local["result"]["handled_by"], "a");
  auto remote = meshctl_json(a.http(), {"dispatch", "test", "Faults", "Echo",
                                           "--payload", R"({"n":2})"});
  CAF_CHECK_EQUAL(remote["status"], "ok");
  CAF_CHECK_EQUAL(remote["result"]["handled_by"], "b");
  auto process = meshctl_json(a.http(), {"process", "welcome_message",
                                            "--args", R"({"user_id":"u-1"})"});
  CAF_CHECK_EQUAL(process["status"], "ok");
  CAF_CHECK_EQUAL(process["result"]["variant"], "email");
  // The example plug-in's fourteen handlers, all of them, after any restart.
  auto handlers = meshctl_json(a.http(), {"handlers"})["result"];
  CAF_CHECK_EQUAL(handlers.size(), 14u);
  // The publish reaches a's dispatcher and b's, exactly once each.
  auto before_a = meshctl_json(a.http(), {"records", "rec-a"})["result"].size();
  auto before_b = meshctl_json(b.http(), {"records", "rec-b"})["result"].size();
  auto pub = meshctl_json(a.http(), {"publish", "orders.1", "--payload",
                                        R"({"id":1})"});
  CAF_CHECK_EQUAL(pub["status"], "ok");
  CAF_CHECK_EQUAL(pub["result"]["status"], "success");
  CAF_CHECK_EQUAL(meshctl_json(a.http(), {"records", "rec-a"})["result"].size(),
                  before_a + 1);
  CAF_CHECK_EQUAL(meshctl_json(b.http(), {"records", "rec-b"})["result"].size(),
                  before_b + 1);
  // And the other way: b still knows a's routes (a publishes them again to
  // a peer it lost and found).
  CAF_CHECK(await_condition([&] {
    auto before = meshctl_json(a.http(), {"records", "rec-a"})["result"].size();
    meshctl_json(b.http(), {"publish", "orders.2", "--payload", "{}"});
    return meshctl_json(a.http(), {"records", "rec-a"})["result"].size()
           == before + 1;
  }));
}

} // namespace

CAF_TEST(each restartable actor comes back with its state and the node serves) {
  temp_dir da, db;
  // Seven restarts in a row: above the default bound of 5 per minute.
  node_process a{victim_args(da, {{"max_restarts", 10}}), 60s, true,
                 inject_env};
  node_process b{peer_args(db, a.listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  CAF_REQUIRE(await_condition([&] {
    auto routes = meshctl_json(a.http(), {"routes"});
    for (const auto& r : routes["result"]["routes"])
      if (r.value("node", "") == "b")
        return true;
    return false;
  }));
  check_serving(a, b);
  for (const char* actor : {"router", "registry", "strategy evaluator",
                            "topic dispatcher", "gate", "console",
                            "connection manager"}) {
    CAF_MESSAGE("killing the " << actor);
    auto r = meshctl_json(a.http(), {"inject_failure", "--actor", actor});
    CAF_CHECK_EQUAL(r["result"]["killed"], actor);
    CAF_REQUIRE(await_condition([&] {
      auto row = actor_row(a.http(), actor);
      return row.is_object() && row.value("restarts", 0) == 1
             && row.value("health", "") == "running";
    }));
    auto row = actor_row(a.http(), actor);
    CAF_CHECK_EQUAL(row.value("last_failure", ""), "an exception escaped it");
    CAF_CHECK(a.running());
    // A new connection manager dials the peers its predecessor knew.
    CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
    check_serving(a, b);
    auto log = a.log();
    CAF_CHECK(log.find(std::string{"the "} + actor
                       + " of node a stopped unexpectedly")
              != std::string::npos);
    CAF_CHECK(log.find(std::string{"the "} + actor + " of node a runs again")
              != std::string::npos);
  }
  // The restarted gate listens on a's port: a new node joins through it.
  node_process c{{"--id", "c", "--seeds", a.listen(),
                  "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "6"}};
  CAF_CHECK(await_condition([&] { return sees(a.http(), {"b", "c"}); }));
  CAF_CHECK_EQUAL(a.terminate(), 0);
}

CAF_TEST(a call waiting on an actor that dies is answered at once) {
  node_process n{{"--plugin", bin("libmesh_test_handlers.so")}, 60s, true,
                 inject_env};
  run_result slow;
  std::thread caller([&] {
    slow = meshctl(n.http(), {"dispatch", "test", "Faults", "Sleep",
                                 "--payload", R"({"ms":3000})"});
  });
  CAF_REQUIRE(await_condition([&] {
    auto list = meshctl_json(n.http(), {"handlers"});
    for (const auto& h : list["result"])
      if (h.value("handler", "") == "test/Faults/Sleep")
        return h["stats"].value("running", 0) == 1;
    return false;
  }));
  // The registry takes its executors down with it: the call they held is
  // answered `unavailable` now, not left to its 5 s deadline.
  meshctl_json(n.http(), {"inject_failure", "--actor", "registry"});
  caller.join();
  auto doc = json::parse(slow.out, nullptr, false);
  CAF_REQUIRE(!doc.is_discarded());
  CAF_CHECK_EQUAL(doc["status"], "unavailable");
  CAF_CHECK(doc.value("error", "").find("stopped before answering")
            != std::string::npos);
  // Its successor serves the same handlers with fresh executors.
  CAF_REQUIRE(await_condition([&] {
    return actor_row(n.http(), "registry").value("restarts", 0) == 1;
  }));
  auto again = meshctl_json(n.http(), {"dispatch", "test", "Faults", "Echo",
                                          "--payload", R"({"k":1})"});
  CAF_CHECK_EQUAL(again["status"], "ok");
  CAF_CHECK_EQUAL(n.terminate(), 0);
}

CAF_TEST(too many restarts in the window stop the node) {
  temp_dir dir;
  node_process n{victim_args(dir, {{"max_restarts", 2},
                                   {"restart_window_ms", 600000}}),
                 60s, true, inject_env};
  for (uint32_t i = 1; i <= 2; ++i) {
    meshctl_json(n.http(), {"inject_failure", "--actor", "router"});
    CAF_REQUIRE(await_condition([&] {
      return actor_row(n.http(), "router").value("restarts", 0u) == i;
    }));
  }
  meshctl_json(n.http(), {"inject_failure", "--actor", "router"});
  CAF_CHECK_EQUAL(n.wait_exit(30s), 70);
  CAF_CHECK(n.log().find("2 restarts within 600000 ms is the limit")
            != std::string::npos);
}

CAF_TEST(fault injection is off unless the test environment asks for it) {
  node_process n{{"--plugin", bin("libmesh_example_handlers.so")}};
  auto r = meshctl_json(n.http(), {"inject_failure", "--actor", "router"},
                        1);
  CAF_CHECK_EQUAL(r["status"], "permission_denied");
  CAF_CHECK_EQUAL(n.terminate(), 0);
}
