#define CAF_SUITE cluster.meshctl
#include "check.hpp"
#include <caf/test/unit_test.hpp>

#include <thread>

#include "process.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

struct fixture {
  node_process node{{"--id", "solo", "--plugin",
                     bin("libmesh_example_handlers.so"), "--plugin",
                     bin("libmesh_test_handlers.so"),
                     "--max-payload-bytes", "1024"}};

  json dispatch(std::vector<std::string> args, int expected_exit) {
    args.insert(args.begin(), "dispatch");
    return meshctl_json(node.http(), args, expected_exit);
  }

  void check_status(const json& r, const std::string& status,
                    const std::string& phrase) {
    CAF_CHECK_EQUAL(r["status"], status);
    auto text = r.value("error", "");
    MESH_CHECK_MSG(text.find(phrase) != std::string::npos,
                      "error '" << text << "' lacks '" << phrase << "'");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(meshctl_tests, fixture)

CAF_TEST(status and handlers describe the node) {
  auto status = meshctl_json(node.http(), {"status"});
  CAF_CHECK_EQUAL(status["result"]["id"], "solo");
  CAF_CHECK_EQUAL(status["result"]["listen"], node.listen());
  // The example plug-in's 14 (its process variants among them) and the
  // test plug-in's 6.
  CAF_CHECK_EQUAL(status["result"]["handlers"], 20);
  auto handlers = meshctl_json(node.http(), {"handlers"});
  bool found = false;
  for (const auto& h : handlers["result"])
    found = found || h["handler"] == "orders/OrderService/CreateOrder";
  CAF_CHECK(found);
  auto human = meshctl(node.http(), {"status"}, true);
  CAF_CHECK_EQUAL(human.exit_code, 0);
  CAF_CHECK(human.out.find("id:         solo") != std::string::npos);
}

CAF_TEST(dispatch prints status and handled_by and trace id and payload) {
  auto r = dispatch({"users", "UserService", "GetUser", "--payload",
                     R"({"id":"u-2"})", "--trace", "trace-42"},
                    0);
  // One envelope: what the request answered is under "result".
  CAF_CHECK_EQUAL(r["ok"], true);
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(r["code"], 0);
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "solo");
  CAF_CHECK_EQUAL(r["result"]["trace_id"], "trace-42");
  CAF_CHECK_EQUAL(r["result"]["payload"]["name"], "Alan Turing");
  auto human = meshctl(node.http(),
                       {"dispatch", "echo", "EchoService", "Echo",
                        "--payload", R"({"x":[1,2]})"},
                       true);
  CAF_CHECK_EQUAL(human.exit_code, 0);
  CAF_CHECK(human.out.find("status:     ok") != std::string::npos);
  CAF_CHECK(human.out.find(R"({"x":[1,2]})") != std::string::npos);
}

CAF_TEST(every request error has its status and a non-zero exit) {
  check_status(dispatch({"", "UserService", "GetUser"}, 1), "invalid_argument",
               "namespace is missing");
  check_status(dispatch({"users", "", "GetUser"}, 1), "invalid_argument",
               "service is missing");
  check_status(dispatch({"users", "UserService", ""}, 1), "invalid_argument",
               "method is missing");
  check_status(dispatch({"billing", "Invoices", "Get"}, 1), "not_found",
               "namespace 'billing'");
  check_status(dispatch({"users", "UserService", "Fly"}, 1), "not_found",
               "users/UserService/Fly");
  check_status(dispatch({"echo", "EchoService", "Echo", "--payload",
                         "\"" + std::string(2000, 'x') + "\""},
                        1),
               "invalid_argument", "exceeds the limit of 1024 bytes");
  check_status(dispatch({"users", "UserService", "GetUser", "--target",
                         "elsewhere"},
                        1),
               "unavailable", "elsewhere");
  auto human = meshctl(node.http(), {"dispatch", "billing", "I", "Get"},
                       true);
  CAF_CHECK_EQUAL(human.exit_code, 1);
  CAF_CHECK(human.out.find("status:     not_found") != std::string::npos);
}

CAF_TEST(a target equal to the node runs locally) {
  auto r = dispatch({"echo", "EchoService", "Echo", "--target", "solo",
                     "--payload", "7"},
                    0);
  CAF_CHECK_EQUAL(r["result"]["payload"], 7);
}

CAF_TEST(a validator rejection is not_found saying it is not registered) {
  auto set = meshctl_json(node.http(),
                          {"validator", "--allow", "echo/*/*"});
  CAF_CHECK_EQUAL(set["result"]["validator"], "allow-list [echo/*/*]");
  check_status(dispatch({"users", "UserService", "GetUser", "--payload",
                         R"({"id":"u-1"})"},
                        1),
               "not_found", "is not registered");
  CAF_CHECK_EQUAL(dispatch({"echo", "EchoService", "Echo"}, 0).value("status", ""), "ok");
  meshctl_json(node.http(), {"validator"}); // back to none
  CAF_CHECK_EQUAL(dispatch({"users", "UserService", "GetUser", "--payload",
                            R"({"id":"u-1"})"},
                           0).value("status", ""),
                  "ok");
}

CAF_TEST(a throwing handler is handler_error without its secrets) {
  auto r = dispatch({"test", "Faults", "Throw"}, 1);
  check_status(r, "handler_error", "test/Faults/Throw on solo failed");
  auto text = r.dump();
  CAF_CHECK(text.find("hunter2") == std::string::npos);
  CAF_CHECK(text.find("s3cret") == std::string::npos);
}

CAF_TEST(a handler that hangs past its deadline is deadline_exceeded) {
  auto r = dispatch({"test", "Faults", "Sleep", "--payload", R"({"ms":3000})",
                     "--deadline-ms", "200"},
                    1);
  check_status(r, "deadline_exceeded", "did not answer within 200 ms");
  // The node keeps serving while the hung call finishes in the background.
  CAF_CHECK_EQUAL(dispatch({"echo", "EchoService", "Echo"}, 0).value("status", ""), "ok");
}

CAF_TEST(a flood past the queue bound is overloaded and the node recovers) {
  constexpr int n = 6; // one runs, one waits, the rest are refused
  std::vector<run_result> results(n);
  std::vector<std::thread> threads;
  // Each call holds the slot for 4 s: all six meshctl processes reach the
  // node while the first still runs, however slowly a loaded machine (or
  // a sanitizer build) starts them; the one that waits gets the time to
  // run after it.
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      results[i] = meshctl(node.http(),
                           {"dispatch", "test", "Tight", "Sleep", "--payload",
                            R"({"ms":4000})", "--deadline-ms", "20000"});
    });
  for (auto& t : threads)
    t.join();
  int ok = 0, overloaded = 0;
  for (const auto& r : results) {
    auto doc = json::parse(r.out, nullptr, false);
    CAF_REQUIRE(!doc.is_discarded());
    if (doc["status"] == "ok")
      ++ok;
    else if (doc["status"] == "overloaded")
      ++overloaded;
  }
  CAF_CHECK_EQUAL(ok + overloaded, n); // every request answered
  CAF_CHECK_GREATER_OR_EQUAL(overloaded, 1);
  CAF_CHECK_GREATER_OR_EQUAL(ok, 1);
  CAF_CHECK_EQUAL(dispatch({"test", "Tight", "Sleep", "--payload",
                            R"({"ms":1})"},
                           0).value("status", ""),
                  "ok");
}

CAF_TEST(namespaces can be added and removed at run time) {
  meshctl_json(node.http(), {"namespaces", "remove", "users"});
  check_status(dispatch({"users", "UserService", "GetUser"}, 1), "not_found",
               "namespace 'users'");
  // The users handlers are still registered, but inactive.
  auto active = [&](const std::string& key) {
    auto doc = meshctl_json(node.http(), {"handlers"});
    for (const auto& h : doc["result"])
      if (h["handler"] == key)
        return h["active"].get<bool>() ? 1 : 0;
    return -1; // not listed at all
  };
  CAF_CHECK_EQUAL(active("users/UserService/GetUser"), 0);
  CAF_CHECK_EQUAL(active("echo/EchoService/Echo"), 1);
  auto human = meshctl(node.http(), {"handlers"}, true);
  CAF_CHECK(human.out.find("users/UserService/GetUser") != std::string::npos);
  meshctl_json(node.http(), {"namespaces", "add", "users"});
  CAF_CHECK_EQUAL(dispatch({"users", "UserService", "GetUser", "--payload",
                            R"({"id":"u-1"})"},
                           0).value("status", ""),
                  "ok");
}

CAF_TEST(bad usage exits 2 without contacting the node) {
  auto r = meshctl(node.http(),
                   {"dispatch", "echo", "EchoService", "Echo", "--payload",
                    "{not json"});
  CAF_CHECK_EQUAL(r.exit_code, 2);
  CAF_CHECK(r.err.find("not valid JSON") != std::string::npos);
  CAF_CHECK_EQUAL(meshctl(node.http(), {"frobnicate"}).exit_code, 2);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(an unreachable node is a clear error within seconds) {
  auto r = meshctl("127.0.0.1:1", {"status"}, true);
  CAF_CHECK_EQUAL(r.exit_code, 3);
  MESH_CHECK_MSG(r.err.find("cannot connect to 127.0.0.1:1")
                   != std::string::npos,
                 r.err);
  CAF_CHECK_LESS(r.elapsed, 10s);
}
