#define CAF_SUITE cluster.membership_ops
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// What an operator sees of membership: a seed that refuses our secret is a
// warning in the dialling node's log (once, not once per re-dial), and
// `meshctl remove` forgets a dead node on every node of the cluster.

#include <memory>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

std::vector<std::string> args(const temp_dir& dir, const std::string& id,
                              std::vector<std::string> more = {}) {
  std::vector<std::string> xs{"--id",
                              id,
                              "--data-dir",
                              dir.file(id),
                              "--heartbeat-interval-ms",
                              "100",
                              "--heartbeat-misses",
                              "5"};
  xs.insert(xs.end(), more.begin(), more.end());
  return xs;
}

size_t count(const std::string& text, const std::string& phrase) {
  size_t n = 0;
  for (auto i = text.find(phrase); i != std::string::npos;
       i = text.find(phrase, i + 1))
    ++n;
  return n;
}

} // namespace

CAF_TEST(a seed that refuses our secret is a warning on the dialling side) {
  temp_dir dir;
  node_process a{args(dir, "a"), 60s, true, {"MESH_CLUSTER_SECRET=alpha"}};
  node_process b{args(dir, "b", {"--seeds", a.listen()}),
                 60s,
                 true,
                 {"MESH_CLUSTER_SECRET=beta"}};
  auto warning = "seed " + a.listen() + " refused us: wrong cluster secret";
  CAF_CHECK(await_condition(
      [&] { return b.log().find(warning) != std::string::npos; }));
  // The seed is re-dialled (backoff from 200 ms): the warning is not
  // repeated for every attempt.
  auto attempts = "cannot connect to " + a.listen();
  CAF_CHECK(await_condition([&] { return count(b.log(), attempts) >= 3; }));
  auto log = b.log();
  MESH_CHECK_MSG(count(log, warning) == 1, "warned more than once:\n" << log);
  auto line_start = log.rfind('\n', log.find(warning));
  auto line = log.substr(line_start == std::string::npos ? 0 : line_start + 1,
                         log.find(warning) - line_start);
  MESH_CHECK_MSG(line.find("warn") != std::string::npos,
                 "not a warning: " << line);
  CAF_CHECK(peers_of(b.http()).empty());
  CAF_CHECK(peers_of(a.http()).empty());
}

CAF_TEST(remove forgets a dead node on every node and the removal sticks) {
  temp_dir dir;
  node_process a{args(dir, "a")};
  node_process b{args(dir, "b", {"--seeds", a.listen()})};
  auto c
      = std::make_unique<node_process>(args(dir, "c", {"--seeds", a.listen()}));
  CAF_REQUIRE(await_condition([&] {
    return sees(a.http(), {"b", "c"}) && sees(b.http(), {"a", "c"})
           && sees(c->http(), {"a", "b"});
  }));
  c->kill_hard();
  CAF_REQUIRE(await_condition([&] {
    return sees(a.http(), {"c"}, "down") && sees(b.http(), {"c"}, "down");
  }));
  auto r = meshctl_json(a.http(), {"remove", "c"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK(!peers_of(a.http()).contains("c"));
  // b was told: it forgets c too, without an operator there.
  CAF_CHECK(await_condition([&] { return !peers_of(b.http()).contains("c"); }));
  // Heartbeats gossip members between a and b: neither brings c back.
  // Each look is a round trip to both nodes; ten of them span several
  // heartbeat intervals (100 ms).
  for (int i = 0; i < 10; ++i) {
    CAF_CHECK(!peers_of(a.http()).contains("c"));
    CAF_CHECK(!peers_of(b.http()).contains("c"));
  }
  // A new process of c is a member again, on both nodes.
  c = std::make_unique<node_process>(args(dir, "c", {"--seeds", a.listen()}));
  CAF_CHECK(await_condition(
      [&] { return sees(a.http(), {"c"}) && sees(b.http(), {"c"}); }));
}
