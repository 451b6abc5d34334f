#define CAF_SUITE cluster.monitor_ring
#include <caf/test/unit_test.hpp>

#include <map>

#include "cluster/monitor_ring.hpp"

using namespace mesh;

namespace {

using ids = std::set<std::string>;

std::vector<std::string> nodes(int n) {
  std::vector<std::string> xs;
  for (int i = 0; i < n; ++i)
    xs.push_back("n" + std::to_string(10 + i)); // sorts as it counts
  return xs;
}

} // namespace

CAF_TEST(a node beats the k after it and watches the k before it) {
  auto all = nodes(8);
  auto roles = monitor_ring("n12", all, 3);
  CAF_CHECK(roles.beat_to == (ids{"n13", "n14", "n15"}));
  CAF_CHECK(roles.watch == (ids{"n11", "n10", "n17"}));
}

CAF_TEST(the ring wraps around at both ends) {
  auto all = nodes(6);
  auto last = monitor_ring("n15", all, 2);
  CAF_CHECK(last.beat_to == (ids{"n10", "n11"}));
  CAF_CHECK(last.watch == (ids{"n14", "n13"}));
  auto first = monitor_ring("n10", all, 2);
  CAF_CHECK(first.watch == (ids{"n15", "n14"}));
}

CAF_TEST(a small cluster is a full mesh of beats) {
  auto all = nodes(4);
  auto roles = monitor_ring("n11", all, 3);
  CAF_CHECK(roles.beat_to == (ids{"n10", "n12", "n13"}));
  CAF_CHECK(roles.watch == roles.beat_to);
  auto alone = monitor_ring("n10", {"n10"}, 3);
  CAF_CHECK(alone.beat_to.empty());
  CAF_CHECK(alone.watch.empty());
}

CAF_TEST(every node is watched by exactly k others whatever the order) {
  auto all = nodes(16);
  std::map<std::string, int> watchers;
  std::map<std::string, ids> beats;
  for (auto& self : all) {
    // Each node lists its members in its own order, itself left out.
    std::vector<std::string> view(all.rbegin(), all.rend());
    view.erase(std::find(view.begin(), view.end(), self));
    auto roles = monitor_ring(self, view, 3);
    CAF_CHECK_EQUAL(roles.beat_to.size(), 3u);
    CAF_CHECK_EQUAL(roles.watch.count(self), 0u);
    for (auto& w : roles.watch)
      ++watchers[w];
    beats[self] = roles.beat_to;
  }
  for (auto& id : all)
    CAF_CHECK_EQUAL(watchers[id], 3);
  // Whom a node watches beats it: the two roles agree across nodes.
  for (auto& self : all)
    for (auto& w : monitor_ring(self, all, 3).watch)
      CAF_CHECK_EQUAL(beats[w].count(self), 1u);
}

CAF_TEST(k of zero counts as one and duplicates are ignored) {
  auto roles = monitor_ring("b", {"a", "b", "c", "c", "a"}, 0);
  CAF_CHECK(roles.beat_to == (ids{"c"}));
  CAF_CHECK(roles.watch == (ids{"a"}));
}

CAF_TEST(a report keeps only known nodes each once and down wins) {
  auto known = [](const std::string& id) { return id == "a" || id == "b"; };
  std::vector<std::string> suspect{"a", "a", "stranger", "b", ""};
  std::vector<std::string> down{"b", "b", "\xff\xfe", "c"};
  auto r = keep_known(suspect, down, known);
  CAF_CHECK(r.suspect == (ids{"a"}));
  CAF_CHECK(r.down == (ids{"b"}));
}

CAF_TEST(a flood of names in a report is bounded by the known members) {
  std::vector<std::string> flood(100000, "a");
  for (int i = 0; i < 1000; ++i)
    flood.push_back("x" + std::to_string(i));
  auto r = keep_known(flood, flood, [](const std::string& id) {
    return id == "a";
  });
  CAF_CHECK_EQUAL(r.down.size(), 1u);
  CAF_CHECK(r.suspect.empty());
}
