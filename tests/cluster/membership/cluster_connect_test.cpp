#define CAF_SUITE cluster.connect
#include "check.hpp"

#include "process.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

// Fast failure detection keeps these tests short.
std::vector<std::string> node_args(const std::string& id,
                                   const std::string& namespaces,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id", id, "--namespaces", namespaces,
                                "--plugin", bin("libmesh_example_handlers.so"),
                                "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

json connect(const node_process& from, const node_process& to,
             int expected_exit = 0) {
  return meshctl_json(from.http(), {"connect", to.listen()}, expected_exit);
}

std::string shared(const std::string& http, const std::string& peer) {
  auto view = peers_of(http);
  if (!view.contains(peer))
    return "<absent>";
  std::string result;
  for (const auto& ns : view[peer]["shared_namespaces"])
    result += (result.empty() ? "" : ",") + ns.get<std::string>();
  return result;
}

} // namespace

CAF_TEST(basic connect is recorded on both sides with one connection id) {
  node_process a{node_args("a", "users,orders")};
  node_process b{node_args("b", "orders,inventory")};
  auto r = connect(a, b);
  CAF_CHECK_EQUAL(r["result"]["peer"], "b");
  CAF_CHECK_EQUAL(r["result"]["shared_namespaces"], json::array({"orders"}));
  CAF_REQUIRE(await_condition([&] { return sees(b.http(), {"a"}); }));
  auto on_a = peers_of(a.http());
  auto on_b = peers_of(b.http());
  CAF_CHECK_EQUAL(on_a["b"]["connection_id"], on_b["a"]["connection_id"]);
  CAF_CHECK_EQUAL(on_b["a"]["shared_namespaces"], json::array({"orders"}));
  auto status = meshctl_json(a.http(), {"status"});
  CAF_CHECK_EQUAL(status["result"]["cluster_size"], 2);
}

CAF_TEST(shared namespaces are the intersection in every case) {
  node_process hub{node_args("hub", "users,orders,echo")};
  node_process one{node_args("one", "users,billing")};
  node_process two{node_args("two", "users,orders")};
  node_process none{node_args("none", "billing")};
  node_process all{node_args("all", "echo,orders,users")};
  for (auto* n : {&one, &two, &none, &all})
    connect(*n, hub);
  CAF_CHECK_EQUAL(shared(hub.http(), "one"), "users");
  CAF_CHECK_EQUAL(shared(hub.http(), "two"), "orders,users");
  CAF_CHECK_EQUAL(shared(hub.http(), "none"), "");
  CAF_CHECK_EQUAL(shared(hub.http(), "all"), "echo,orders,users");
}

CAF_TEST(both sides route over the connection) {
  node_process a{node_args("a", "users,orders")};
  node_process b{node_args("b", "users,orders")};
  connect(a, b);
  CAF_REQUIRE(await_condition([&] { return sees(b.http(), {"a"}); }));
  auto ab = meshctl_json(a.http(), {"dispatch", "users", "UserService",
                                       "GetUser", "--payload",
                                       R"({"id":"u-1"})", "--target", "b"});
  CAF_CHECK_EQUAL(ab["result"]["handled_by"], "b");
  // The accepting side routes to the side that dialled.
  auto ba = meshctl_json(b.http(),
                         {"dispatch", "orders", "OrderService", "CreateOrder",
                          "--target", "a", "--payload",
                          R"({"user_id":"u-1","items":[{"sku":"s","quantity":1,"unit_price":2}]})"});
  CAF_CHECK_EQUAL(ba["status"], "ok");
  CAF_CHECK_EQUAL(ba["result"]["handled_by"], "a");
  // The status a handler chose on a passes through unchanged.
  auto err = meshctl_json(b.http(), {"dispatch", "orders", "OrderService",
                                        "CreateOrder", "--target", "a",
                                        "--payload", "{}"},
                          1);
  CAF_CHECK_EQUAL(err["status"], "invalid_argument");
  CAF_CHECK_EQUAL(err["result"]["handled_by"], "a");
}

CAF_TEST(a handler error on a peer is handler_error naming that peer) {
  node_process a{{"--id", "a", "--plugin", bin("libmesh_test_handlers.so")}};
  node_process gateway{node_args("gw", "test")}; // no handler for test
  connect(gateway, a);
  auto r = meshctl_json(gateway.http(),
                        {"dispatch", "test", "Faults", "Throw"}, 1);
  CAF_MESSAGE("answer: " << r.dump());
  CAF_CHECK_EQUAL(r["status"], "handler_error");
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "a");
  CAF_CHECK(r["error"].get<std::string>().find("on a failed")
            != std::string::npos);
  CAF_CHECK(r.dump().find("hunter2") == std::string::npos);
}

CAF_TEST(connecting A to B and then B to A collapses into one connection) {
  node_process a{node_args("a", "users")};
  node_process b{node_args("b", "users")};
  auto first = connect(a, b);
  auto second = connect(b, a);
  CAF_CHECK_EQUAL(first["result"]["connection_id"],
                  second["result"]["connection_id"]);
  CAF_CHECK_EQUAL(peers_of(a.http()).size(), 1u);
  CAF_CHECK_EQUAL(peers_of(b.http()).size(), 1u);
}

CAF_TEST(one node connected to several keeps one connection each) {
  node_process hub{node_args("hub", "users")};
  node_process b{node_args("b", "users")};
  node_process c{node_args("c", "users")};
  node_process d{node_args("d", "users")};
  for (auto* n : {&b, &c, &d})
    connect(hub, *n);
  CAF_CHECK(await_condition([&] { return sees(hub.http(), {"b", "c", "d"}); }));
  auto status = meshctl_json(hub.http(), {"status"});
  CAF_CHECK_EQUAL(status["result"]["cluster_size"], 4);
}

CAF_TEST(bad connects are clear errors and record nothing) {
  node_process a{node_args("a", "users")};
  auto self = connect(a, a, 1);
  CAF_CHECK_EQUAL(self["status"], "invalid_argument");
  CAF_CHECK(self["error"].get<std::string>().find("cannot connect to itself")
            != std::string::npos);
  auto unreachable = meshctl_json(a.http(), {"connect", "127.0.0.1:1"}, 1);
  CAF_CHECK_EQUAL(unreachable["status"], "unavailable");
  CAF_CHECK(unreachable["error"].get<std::string>().find("127.0.0.1:1")
            != std::string::npos);
  auto garbage = meshctl_json(a.http(), {"connect", "nowhere"}, 1);
  CAF_CHECK_EQUAL(garbage["status"], "invalid_argument");
  CAF_CHECK_EQUAL(peers_of(a.http()).size(), 0u);
}
