#define CAF_SUITE cluster.failure
#include "check.hpp"

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "process.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

std::vector<std::string> backend_args(const std::string& id,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id", id, "--plugin",
                                bin("libmesh_test_handlers.so"),
                                "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A gateway declares the namespace but has no handler for it: every request
// it gets runs on a peer.
std::vector<std::string> gateway_args(const std::string& id) {
  return {"--id", id, "--namespaces", "test", "--plugin",
          bin("libmesh_example_handlers.so"), "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "5"};
}

struct tally {
  std::mutex mtx;
  std::map<std::string, int> statuses; ///< answers by status
  int sent = 0;
  int lost = 0; ///< meshctl got no answer from the node
  std::vector<std::string> lost_details;

  void record(const run_result& r) {
    std::lock_guard<std::mutex> guard{mtx};
    ++sent;
    auto doc = json::parse(r.out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("status")) {
      ++lost;
      lost_details.push_back(r.err);
      return;
    }
    ++statuses[doc["status"].get<std::string>()];
  }

  int answered() {
    std::lock_guard<std::mutex> guard{mtx};
    int n = 0;
    for (auto& [k, v] : statuses)
      n += v;
    return n;
  }
};

struct temp_config {
  std::string path;
  explicit temp_config(const json& doc) {
    char name[] = "/tmp/mesh-cluster-cfg-XXXXXX";
    int fd = ::mkstemp(name);
    CAF_REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream{path} << doc.dump();
  }
  ~temp_config() {
    ::unlink(path.c_str());
  }
};

} // namespace

CAF_TEST(kill -9 of a node during a stream of dispatches loses no request) {
  node_process gw{gateway_args("gw")};
  auto b1 = std::make_unique<node_process>(
    backend_args("b1", {"--seeds", gw.listen()}));
  node_process b2{backend_args("b2", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b1", "b2"}); }));
  tally t;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      while (!stop) {
        // Half idempotent echoes (retried elsewhere), half slow calls that
        // are not (answered unavailable if their node dies under them).
        if (c % 2 == 0)
          t.record(meshctl(gw.http(), {"dispatch", "test", "Faults", "Echo",
                                          "--payload", "1"}));
        else
          t.record(meshctl(gw.http(), {"dispatch", "test", "Faults", "Sleep",
                                          "--payload", R"({"ms":200})"}));
      }
    });
  CAF_REQUIRE(await_condition([&] { return t.answered() >= 20; }));
  b1->kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b1"}, "down"); },
                              10s));
  auto at_kill = t.answered();
  CAF_REQUIRE(await_condition([&] { return t.answered() >= at_kill + 20; }));
  stop = true;
  for (auto& th : clients)
    th.join();
  MESH_CHECK_MSG(t.lost == 0, "lost: " << (t.lost_details.empty()
                                             ? ""
                                             : t.lost_details.front()));
  CAF_CHECK_EQUAL(t.sent, t.answered() + t.lost);
  for (auto& [status, n] : t.statuses)
    MESH_CHECK_MSG(status == "ok" || status == "unavailable",
                   n << " answers were " << status);
  CAF_CHECK_GREATER(t.statuses["ok"], 30);
  // After the failure everything runs on b2.
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "b2");
}

CAF_TEST(a restarted node rejoins and is routed to again) {
  node_process gw{gateway_args("gw")};
  auto b1 = std::make_unique<node_process>(
    backend_args("b1", {"--seeds", gw.listen()}));
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b1"}); }));
  auto before = peers_of(gw.http())["b1"]["connection_id"];
  b1->kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b1"}, "down"); }));
  auto down = meshctl_json(gw.http(),
                           {"dispatch", "test", "Faults", "Echo"}, 1);
  CAF_CHECK_EQUAL(down["status"], "not_found");
  b1 = std::make_unique<node_process>(backend_args("b1", {"--seeds",
                                                          gw.listen()}));
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b1"}); }));
  auto after = peers_of(gw.http());
  CAF_CHECK_NOT_EQUAL(after["b1"]["connection_id"], before);
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "b1");
}

CAF_TEST(the side that dialled re-dials a peer that comes back) {
  auto b = std::make_unique<node_process>(backend_args("b"));
  auto address = b->listen();
  node_process a{backend_args("a", {"--seeds", address})};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  b->kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}, "down"); }));
  // b returns on the same address without knowing a: a re-dials it.
  b = std::make_unique<node_process>(backend_args("b", {"--listen", address}));
  CAF_CHECK(await_condition([&] { return sees(a.http(), {"b"}); }));
  CAF_CHECK(await_condition([&] { return sees(b->http(), {"a"}); }));
  // The operator can forget a peer that is down for good.
  b->kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}, "down"); }));
  meshctl_json(a.http(), {"remove", "b"});
  CAF_CHECK(!peers_of(a.http()).contains("b"));
}

CAF_TEST(a graceful leave tells peers first and finishes in-flight requests) {
  node_process gw{gateway_args("gw")};
  node_process b{backend_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b"}); }));
  run_result slow;
  std::thread caller([&] {
    slow = meshctl(gw.http(), {"dispatch", "test", "Faults", "Sleep",
                                  "--payload", R"({"ms":1500})"});
  });
  CAF_REQUIRE(await_condition([&] {
    auto view = peers_of(gw.http());
    return view.contains("b") && view["b"]["in_flight"] == 1;
  }));
  meshctl_json(b.http(), {"leave"});
  // The peer knows at once: no waiting for missed heartbeats.
  CAF_CHECK(await_condition([&] { return sees(gw.http(), {"b"}, "left"); },
                            1s));
  caller.join();
  auto doc = json::parse(slow.out, nullptr, false);
  MESH_CHECK_MSG(!doc.is_discarded(), "no answer: " << slow.err);
  CAF_REQUIRE(!doc.is_discarded());
  MESH_CHECK_MSG(doc.value("status", "") == "ok", slow.out);
  CAF_CHECK_EQUAL(doc["result"]["handled_by"], "b");
  CAF_CHECK_EQUAL(b.terminate(), 0); // already exiting by itself
}

CAF_TEST(a wrong or missing cluster secret is refused) {
  auto cfg = [](const std::string& id, const json& secret) {
    return json{{"id", id},
                {"listen", "127.0.0.1:0"},
                {"console", "127.0.0.1:0"},
                {"plugins", json::array()},
                {"cluster", {{"secret", secret}}}};
  };
  temp_config ca{cfg("a", "alpha")}, cb{cfg("b", "beta")},
    cc{cfg("c", nullptr)}, cd{cfg("d", "alpha")}, ce{cfg("e", nullptr)};
  node_process a{{"--config", ca.path}};
  node_process b{{"--config", cb.path}};
  node_process c{{"--config", cc.path}};
  node_process d{{"--config", cd.path}};
  auto wrong = meshctl_json(b.http(), {"connect", a.listen()}, 1);
  CAF_CHECK_EQUAL(wrong["status"], "permission_denied");
  CAF_CHECK(wrong["error"].get<std::string>().find("cluster secret mismatch")
            != std::string::npos);
  auto missing = meshctl_json(c.http(), {"connect", a.listen()}, 1);
  CAF_CHECK_EQUAL(missing["status"], "permission_denied");
  auto extra = meshctl_json(a.http(), {"connect", c.listen()}, 1);
  CAF_CHECK_EQUAL(extra["status"], "permission_denied");
  CAF_CHECK(peers_of(a.http()).empty());
  CAF_CHECK(peers_of(b.http()).empty());
  // The right secret works.
  meshctl_json(d.http(), {"connect", a.listen()});
  CAF_CHECK(sees(a.http(), {"d"}));
  // MESH_CLUSTER_SECRET overrides the config.
  node_process e{{"--config", ce.path}, 60s, true,
                 {"MESH_CLUSTER_SECRET=alpha"}};
  meshctl_json(e.http(), {"connect", a.listen()});
  CAF_CHECK(sees(a.http(), {"d", "e"}));
}

CAF_TEST(namespaces changed at run time reach peers without reconnecting) {
  node_process a{backend_args("a", {"--namespaces", "test,extra"})};
  node_process b{backend_args("b", {"--seeds", a.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  auto id = peers_of(a.http())["b"]["connection_id"];
  meshctl_json(b.http(), {"namespaces", "add", "extra"});
  CAF_CHECK(await_condition([&] {
    auto view = peers_of(a.http());
    return view["b"]["shared_namespaces"] == json::array({"extra", "test"});
  }));
  auto view = peers_of(a.http());
  CAF_CHECK_EQUAL(view["b"]["connection_id"], id);
}
