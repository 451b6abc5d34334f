#define CAF_SUITE cluster.heartbeat_ring
#include "check.hpp"

#include <memory>
#include <string>
#include <vector>

#include "pipeline_cluster.hpp"
#include "quick_beats.hpp"

// Five real nodes, so the heartbeat ring (3 monitors) is not a full mesh:
// each node watches 3 peers and takes the fourth's state from the reports
// of the nodes that watch it.

using namespace mesh::test;
using nlohmann::json;

namespace {

struct five_nodes {
  std::vector<std::unique_ptr<node_process>> nodes;

  five_nodes() {
    nodes.push_back(std::make_unique<node_process>(quick_beats_args("n1")));
    for (int i = 2; i <= 5; ++i)
      nodes.push_back(std::make_unique<node_process>(quick_beats_args(
        "n" + std::to_string(i), {"--seeds", nodes.front()->listen()})));
    for (auto& n : nodes)
      CAF_REQUIRE(await_condition([&] { return sees(n->http(), others(*n)); }));
  }

  std::vector<std::string> others(const node_process& n) const {
    std::vector<std::string> ids;
    for (auto& m : nodes)
      if (m.get() != &n)
        ids.push_back(m->id());
    return ids;
  }

  node_process& at(int i) {
    return *nodes[static_cast<size_t>(i - 1)];
  }
};

/// Ids of the peers `n` watches (its peers view's "watched").
std::vector<std::string> watched_by(const node_process& n) {
  std::vector<std::string> ids;
  auto view = peers_of(n.http());
  for (auto& [id, p] : view.items())
    if (p.value("watched", false))
      ids.push_back(id);
  return ids;
}

} // namespace

CAF_TEST(each of five nodes watches the three before it in the ring) {
  five_nodes c;
  // Each watches the three before it by id (n3: n2, n1, n5) once all five
  // know each other; a node that knew fewer watched others meanwhile.
  const std::vector<std::vector<std::string>> before{
    {"n3", "n4", "n5"}, {"n1", "n4", "n5"}, {"n1", "n2", "n5"},
    {"n1", "n2", "n3"}, {"n2", "n3", "n4"}};
  for (int i = 1; i <= 5; ++i)
    MESH_CHECK_MSG(await_condition([&] {
                     return watched_by(c.at(i)) == before[i - 1];
                   }),
                   "n" << i << " watches "
                       << peers_of(c.at(i).http()).dump());
  // n2 is the one peer that does not watch n3.
  auto view = peers_of(c.at(2).http());
  CAF_CHECK_EQUAL(view["n3"].value("watched", true), false);
  CAF_CHECK_EQUAL(view["n3"].value("state", ""), "up");
  CAF_CHECK_EQUAL(peers_of(c.at(4).http())["n3"].value("watched", false), true);
}

CAF_TEST(a frozen node is down on every node then up again when it thaws) {
  five_nodes c;
  auto& frozen = c.at(3);
  {
    freeze_guard guard{frozen.pid()};
    // Its three watchers find it down; n2, which does not watch it, takes
    // that from their reports.
    for (int i : {1, 2, 4, 5})
      MESH_CHECK_MSG(await_condition([&] {
                       return sees(c.at(i).http(), {"n3"}, "down");
                     }),
                     "n" << i << " sees " << peers_of(c.at(i).http()).dump());
    auto view = peers_of(c.at(2).http());
    CAF_CHECK_EQUAL(view["n3"].value("reported", false), true);
    // Nobody else is down for anyone (suspect, on a loaded machine, may
    // come and go).
    for (int i : {1, 2, 4, 5}) {
      auto peers = peers_of(c.at(i).http());
      for (int j : {1, 2, 4, 5})
        if (j != i)
          CAF_CHECK_NOT_EQUAL(peers["n" + std::to_string(j)].value("state", ""),
                              "down");
    }
  }
  // Thawed: it beats its watchers again, and their reports bring it back
  // on n2 too. It judged nobody down for its own pause.
  for (int i : {1, 2, 4, 5})
    MESH_CHECK_MSG(await_condition([&] {
                     return sees(c.at(i).http(), {"n3"});
                   }),
                   "n" << i << " sees " << peers_of(c.at(i).http()).dump());
  CAF_CHECK(await_condition([&] { return sees(frozen.http(), c.others(frozen)); }));
  auto view = peers_of(c.at(2).http());
  CAF_CHECK_EQUAL(view["n3"].value("reported", true), false);
}

CAF_TEST(a peer that beats more slowly than this node stays up) {
  // quick beats here (100 ms x 5: down after half a second of silence); the
  // default 1000 ms there. Judged by our own interval, "slow" would flap
  // between up, suspect and down every second, and a dispatch that met it
  // down would find no route.
  node_process quick{quick_beats_args("quick", {"--namespaces", "test"})};
  node_process slow{{"--id", "slow", "--plugin", bin("libmesh_test_handlers.so")}};
  auto connected = meshctl_json(quick.http(), {"connect", slow.listen()});
  CAF_REQUIRE_EQUAL(connected["result"]["peer"], "slow");
  auto view = peers_of(quick.http());
  CAF_CHECK_EQUAL(view["slow"].value("heartbeat_interval_ms", 0), 1000);
  CAF_CHECK_EQUAL(peers_of(slow.http())["quick"].value("heartbeat_interval_ms", 0),
                  1000); // its own is the longer one
  // Up without a break for three of its beats: condition awaited, not slept.
  MESH_CHECK_MSG(await_condition([&] {
                   auto p = peers_of(quick.http())["slow"];
                   return p.value("state", "") == "up"
                          && p.value("state_for_ms", 0) >= 3000;
                 }, 15s),
                 "quick sees " << peers_of(quick.http()).dump());
  auto r = meshctl_json(quick.http(), {"dispatch", "test", "Faults", "Throw"}, 1);
  CAF_CHECK_EQUAL(r["status"], "handler_error");
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "slow");
}
