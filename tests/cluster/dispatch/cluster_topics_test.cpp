#define CAF_SUITE cluster.topics
#include "check.hpp"

#include <httplib.h>

#include <csignal>
#include <future>

#include "process.hpp"
#include "protocol/address.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

// Node `id`: a record dispatcher "rec-ID" for "orders.>", plus `extra`
// topics config; the test plug-in (its dispatchers test-sleep and
// test-throw) and no example dispatchers.
std::vector<std::string> topic_node(const temp_dir& dir, const std::string& id,
                                    json extra_routes = json::array(),
                                    json extra_dispatchers = json::array(),
                                    std::vector<std::string> more = {}) {
  json dispatchers = json::array(
    {{{"id", "rec-" + id}, {"kind", "record"}, {"category", "event"},
      {"keep", 1000}}});
  for (auto& d : extra_dispatchers)
    dispatchers.push_back(d);
  json routes = json::array({{{"id", "orders-" + id},
                              {"pattern", "orders.>"},
                              {"category", "event"},
                              {"dispatcher", "rec-" + id}}});
  for (auto& r : extra_routes)
    routes.push_back(r);
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", "127.0.0.1:0"},
           {"plugins", json::array({bin("libmesh_test_handlers.so")})},
           {"namespaces", json::array({"test"})},
           {"topics",
            {{"dispatcher_timeout_ms", 8000},
             {"dispatchers", dispatchers},
             {"routes", routes}}}};
  auto file = dir.write(id + ".json", cfg.dump());
  std::vector<std::string> args{"--config", file, "--id", id,
                                "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

size_t records_of(const node_process& n, const std::string& dispatcher) {
  auto r = meshctl_json(n.http(), {"records", dispatcher});
  return r["result"].size();
}

// True when `n` knows `count` routes cluster-wide.
bool knows_routes(const node_process& n, size_t count) {
  auto r = meshctl_json(n.http(), {"routes"});
  return r["result"]["routes"].size() == count;
}

// A publish's result (seed 004's status, dispatchers, outputs, error);
// the envelope around it is ok only for a success.
json publish(const node_process& n, const std::string& topic,
             const json& payload = json::object(), int exit = 0) {
  auto doc = meshctl_json(n.http(), {"publish", topic, "--payload",
                                     payload.dump()},
                          exit);
  CAF_CHECK_EQUAL(doc.value("ok", false), exit == 0);
  return result_of(doc);
}

} // namespace

CAF_TEST(a publish on any node reaches every matching dispatcher exactly once) {
  temp_dir dir;
  node_process a{topic_node(dir, "a")};
  node_process b{topic_node(dir, "b",
                            json::array({{{"id", "pay-b"},
                                          {"pattern", "payments.*"},
                                          {"category", "event"},
                                          {"dispatcher", "rec-b"}}}),
                            json::array(), {"--seeds", a.listen()})};
  node_process c{topic_node(dir, "c", json::array(), json::array(),
                            {"--seeds", a.listen()})};
  for (const auto* n : {&a, &b, &c})
    CAF_REQUIRE(await_condition([&] { return knows_routes(*n, 4); }));
  for (int i = 0; i < 10; ++i) {
    auto r = publish(i % 2 == 0 ? a : c, "orders.eu.created",
                     {{"order", i}});
    CAF_CHECK_EQUAL(r.value("status", ""), "success");
    CAF_CHECK_EQUAL(r["dispatchers"].size(), 3u);
  }
  CAF_CHECK_EQUAL(records_of(a, "rec-a"), 10u);
  CAF_CHECK_EQUAL(records_of(b, "rec-b"), 10u);
  CAF_CHECK_EQUAL(records_of(c, "rec-c"), 10u);
  // A route only b has: only b runs, even when published on c.
  auto pay = publish(c, "payments.card");
  CAF_CHECK_EQUAL(pay["dispatchers"].size(), 1u);
  CAF_CHECK_EQUAL(records_of(b, "rec-b"), 11u);
  CAF_CHECK_EQUAL(records_of(c, "rec-c"), 10u);
  // Nobody listens: no_dispatcher, exit 1.
  auto none = publish(a, "inventory.low", json::object(), 1);
  CAF_CHECK_EQUAL(none.value("status", ""), "no_dispatcher");
  // Metrics on b count its executions.
  auto metrics = meshctl_json(b.http(), {"metrics"})["result"];
  int seen = 0;
  for (const auto& d : metrics["dispatchers"])
    if (d.value("dispatcher_id", "") == "rec-b") {
      ++seen;
      CAF_CHECK_EQUAL(d.value("executions", 0), 11);
    }
  CAF_CHECK_EQUAL(seen, 1);
}

CAF_TEST(errors from other nodes are aggregated and sanitised) {
  temp_dir dir;
  node_process a{topic_node(dir, "a")};
  node_process b{topic_node(dir, "b",
                            json::array({{{"id", "fail-b"},
                                          {"pattern", "orders.>"},
                                          {"category", "event"},
                                          {"dispatcher", "test-throw"}}}),
                            json::array(), {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return knows_routes(a, 3); }));
  auto r = publish(a, "orders.1", json::object(), 1);
  CAF_CHECK_EQUAL(r.value("status", ""), "dispatcher_error");
  auto error = r.value("error", "");
  CAF_CHECK(error.find("test-throw on b") != std::string::npos);
  CAF_CHECK(error.find("hunter2") == std::string::npos);
  CAF_CHECK(r.dump().find("hunter2") == std::string::npos);
  // The other dispatchers ran anyway.
  CAF_CHECK_EQUAL(records_of(a, "rec-a"), 1u);
  CAF_CHECK_EQUAL(records_of(b, "rec-b"), 1u);
}

CAF_TEST(a forward dispatcher triggers a handler on another node) {
  temp_dir dir;
  json forward = json::array({{{"id", "to-echo"},
                               {"kind", "forward"},
                               {"category", "event"},
                               {"forward_to", "test/Faults/Throw"}}});
  json route = json::array({{{"id", "fwd"},
                             {"pattern", "audit.>"},
                             {"category", "event"},
                             {"dispatcher", "to-echo"}}});
  // a has no handlers of its own; b serves test/.
  node_process a{topic_node(dir, "a", route, forward,
                            {"--plugin", bin("libmesh_example_handlers.so")})};
  node_process b{topic_node(dir, "b", json::array(), json::array(),
                            {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  auto r = publish(a, "audit.login", {{"user", "u-1"}}, 1);
  CAF_CHECK_EQUAL(r.value("status", ""), "dispatcher_error");
  CAF_CHECK(r.value("error", "").find("handled by b") != std::string::npos);
  CAF_CHECK(r.value("error", "").find("hunter2") == std::string::npos);
}

CAF_TEST(a node killed during a publish yields its part as an error) {
  temp_dir dir;
  json sleepy = json::array({{{"id", "sleep-c"},
                              {"pattern", "orders.>"},
                              {"category", "event"},
                              {"dispatcher", "test-sleep"}}});
  node_process a{topic_node(dir, "a")};
  node_process b{topic_node(dir, "b", json::array(), json::array(),
                            {"--seeds", a.listen()})};
  node_process c{topic_node(dir, "c", sleepy, json::array(),
                            {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return knows_routes(a, 4); }));
  auto pending = std::async(std::launch::async, [&] {
    return meshctl(a.http(), {"publish", "orders.slow",
                                 "--payload", R"({"ms": 6000})"});
  });
  CAF_REQUIRE(await_condition([&] {
    return c.log().find("test-sleep started") != std::string::npos;
  }));
  c.kill_hard();
  auto done = pending.get();
  auto doc = json::parse(done.out, nullptr, false);
  CAF_REQUIRE(!doc.is_discarded());
  CAF_CHECK_EQUAL(doc.value("status", ""), "unavailable");
  auto r = result_of(doc);
  CAF_CHECK_EQUAL(r.value("status", ""), "publish_failed");
  CAF_CHECK(r.value("error", "").find("node c") != std::string::npos);
  size_t ok = 0;
  for (const auto& d : r["dispatchers"])
    if (d.value("status", "") == "success")
      ++ok;
  CAF_CHECK_EQUAL(ok, 2u); // rec-a and rec-b; c's whole part is lost
  // The cluster goes on: later publishes reach the survivors only.
  CAF_CHECK(await_condition([&] {
    auto run = meshctl(a.http(), {"publish", "orders.after"});
    auto next = result_of(json::parse(run.out, nullptr, false));
    return next.value("status", "") == "success"
           && next["dispatchers"].size() == 2;
  }));
  CAF_CHECK(a.running());
  CAF_CHECK(b.running());
}

CAF_TEST(the caller deadline ends a publish whose dispatcher runs longer) {
  // test-sleep sleeps 3 s, well within the 8 s dispatcher timeout: only the
  // caller's 300 ms turn its part into a timeout, locally and at a peer.
  temp_dir dir;
  auto sleepy = [](const std::string& id) {
    return json::array({{{"id", "sleep-" + id},
                         {"pattern", "orders.slow"},
                         {"category", "event"},
                         {"dispatcher", "test-sleep"}}});
  };
  node_process a{topic_node(dir, "a", sleepy("a"))};
  node_process b{topic_node(dir, "b", sleepy("b"), json::array(),
                            {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return knows_routes(a, 4); }));
  auto doc = meshctl_json(a.http(), {"publish", "orders.slow", "--payload",
                                     R"({"ms": 3000})", "--deadline-ms",
                                     "300"},
                          1);
  CAF_CHECK_EQUAL(doc.value("status", ""), "deadline_exceeded");
  auto r = result_of(doc);
  CAF_CHECK_EQUAL(r.value("status", ""), "timeout");
  size_t timeouts = 0;
  for (const auto& d : r["dispatchers"])
    if (d.value("status", "") == "timeout")
      ++timeouts;
  CAF_CHECK_EQUAL(timeouts, 2u); // a's sleep and b's
  // Without one, the same publish succeeds (the sleeps end in time).
  auto ok = publish(a, "orders.slow", {{"ms", 50}});
  CAF_CHECK_EQUAL(ok.value("status", ""), "success");
  // A deadline that is not a count of milliseconds is refused up front,
  // by meshctl and by the node's HTTP API (whose body nothing checked
  // before the node).
  for (const char* bad : {"-5", "soon", "4294967296"}) {
    auto run = meshctl(a.http(), {"publish", "orders.1", "--deadline-ms",
                                  bad});
    CAF_CHECK_EQUAL(run.exit_code, 2);
    CAF_CHECK(run.err.find("--deadline-ms") != std::string::npos);
  }
  std::string why;
  auto hp = mesh::parse_host_port(a.http(), why);
  CAF_REQUIRE(hp);
  httplib::Client http{hp->host, static_cast<int>(hp->port)};
  for (const json& bad : {json("soon"), json(-5), json(4294967296ull),
                          json(1.5), json({{"ms", {{"deep", 1}}}})}) {
    json body{{"topic", "orders.1"}, {"deadline_ms", bad}};
    auto res = http.Post("/v1/publish", body.dump(), "application/json");
    CAF_REQUIRE(res);
    auto doc = json::parse(res->body, nullptr, false);
    CAF_CHECK_EQUAL(doc.value("status", ""), "invalid_argument");
    CAF_CHECK(doc.value("error", "").find("deadline_ms must be")
              != std::string::npos);
  }
}

CAF_TEST(freezing refuses later registrations) {
  temp_dir dir;
  node_process a{topic_node(dir, "a")};
  meshctl_json(a.http(), {"freeze"});
  auto routes = meshctl_json(a.http(), {"routes"})["result"];
  CAF_CHECK_EQUAL(routes.value("frozen", false), true);
  auto refused = meshctl_json(a.http(), {"route", "disable", "orders-a"}, 1);
  CAF_CHECK_EQUAL(refused.value("status", ""), "permission_denied");
  CAF_CHECK_EQUAL(publish(a, "orders.1").value("status", ""), "success");
  auto bad_payload = meshctl(a.http(), {"publish", "orders.1", "--payload",
                                           "{nope"});
  CAF_CHECK_EQUAL(bad_payload.exit_code, 2);
  auto human = meshctl(a.http(), {"routes"}, true);
  CAF_CHECK(human.out.find("frozen") != std::string::npos);
}
