#define CAF_SUITE cluster.discovery
#include "check.hpp"

#include "process.hpp"
#include "quick_beats.hpp"

using namespace mesh::test;
using nlohmann::json;

CAF_TEST(five nodes given only the first as seed become a full mesh) {
  node_process first{quick_beats_args("n1")};
  std::vector<std::unique_ptr<node_process>> rest;
  for (int i = 2; i <= 5; ++i)
    rest.push_back(std::make_unique<node_process>(
      quick_beats_args("n" + std::to_string(i), {"--seeds", first.listen()})));
  std::vector<const node_process*> all{&first};
  for (auto& n : rest)
    all.push_back(n.get());
  for (const auto* n : all) {
    std::vector<std::string> others;
    for (const auto* m : all)
      if (m != n)
        others.push_back(m->id());
    MESH_CHECK_MSG(await_condition([&] { return sees(n->http(), others); }),
                   n->id() << " sees " << peers_of(n->http()).dump());
  }
  auto status = meshctl_json(rest.back()->http(), {"status"});
  CAF_CHECK_EQUAL(status["result"]["cluster_size"], 5);
}

CAF_TEST(a seed that is down at start-up is retried while the node runs) {
  // Reserve a port for the seed by starting and stopping a node on it.
  std::string seed_address;
  {
    node_process probe{quick_beats_args("probe")};
    seed_address = probe.listen();
    CAF_REQUIRE_EQUAL(probe.terminate(), 0);
  }
  node_process joiner{quick_beats_args("joiner", {"--seeds", seed_address})};
  // It runs alone meanwhile and answers.
  auto alone = meshctl_json(joiner.http(), {"status"});
  CAF_CHECK_EQUAL(alone["result"]["cluster_size"], 1);
  node_process seed{quick_beats_args("seed", {"--listen", seed_address})};
  CAF_CHECK(await_condition([&] { return sees(joiner.http(), {"seed"}); }));
  CAF_CHECK(await_condition([&] { return sees(seed.http(), {"joiner"}); }));
}

CAF_TEST(meshctl connect joins a running node by hand) {
  node_process a{quick_beats_args("a")};
  node_process b{quick_beats_args("b")};
  node_process c{quick_beats_args("c", {"--seeds", b.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(b.http(), {"c"}); }));
  CAF_CHECK(peers_of(a.http()).empty());
  meshctl_json(a.http(), {"connect", b.listen()});
  // a learns c through b and joins it too.
  CAF_CHECK(await_condition([&] { return sees(a.http(), {"b", "c"}); }));
  CAF_CHECK(await_condition([&] { return sees(c.http(), {"a", "b"}); }));
}
