#define CAF_SUITE cluster.load_balancer
#include <caf/test/unit_test.hpp>

#include <map>

#include "cluster/load_balancer.hpp"

using namespace mesh;

namespace {

std::vector<peer_candidate> peers(std::vector<size_t> loads) {
  static const char* names[] = {"a", "b", "c", "d", "e"};
  std::vector<peer_candidate> result;
  for (size_t i = 0; i < loads.size(); ++i)
    result.push_back({names[i], loads[i]});
  return result;
}

} // namespace

CAF_TEST(policies are found by name) {
  for (const auto& name : load_balancer_names()) {
    auto lb = make_load_balancer(name, 1);
    CAF_REQUIRE(lb != nullptr);
    CAF_CHECK_EQUAL(std::string{lb->name()}, name);
  }
  CAF_CHECK(make_load_balancer("fastest", 1) == nullptr);
}

CAF_TEST(round robin visits each candidate in turn) {
  auto lb = make_load_balancer("round_robin", 1);
  auto xs = peers({0, 0, 0});
  std::vector<size_t> picks;
  for (int i = 0; i < 6; ++i)
    picks.push_back(lb->pick(xs));
  CAF_CHECK_EQUAL(picks, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

CAF_TEST(least in flight never picks the busiest of two) {
  auto lb = make_load_balancer("least_in_flight", 42);
  auto xs = peers({5, 0});
  for (int i = 0; i < 100; ++i)
    CAF_CHECK_EQUAL(lb->pick(xs), 1u);
}

CAF_TEST(least in flight favours idle peers) {
  auto lb = make_load_balancer("least_in_flight", 7);
  auto xs = peers({10, 10, 0, 10});
  std::map<size_t, int> hits;
  for (int i = 0; i < 1000; ++i)
    ++hits[lb->pick(xs)];
  // The idle peer wins whenever it is one of the two drawn: half the time.
  CAF_CHECK_GREATER(hits[2], 400);
}

CAF_TEST(a single candidate is always picked) {
  for (const auto& name : load_balancer_names()) {
    auto lb = make_load_balancer(name, 3);
    auto xs = peers({9});
    CAF_CHECK_EQUAL(lb->pick(xs), 0u);
  }
}

CAF_TEST(random spreads over every candidate) {
  auto lb = make_load_balancer("random", 11);
  auto xs = peers({0, 0, 0, 0});
  std::map<size_t, int> hits;
  for (int i = 0; i < 4000; ++i)
    ++hits[lb->pick(xs)];
  for (size_t i = 0; i < 4; ++i) {
    CAF_CHECK_GREATER(hits[i], 800);
    CAF_CHECK_LESS(hits[i], 1200);
  }
}
