#define CAF_SUITE actors.router_ejection
#include "router_fixture.hpp"

#include <algorithm>

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;
using test::contains;
using test::fake_answer;
using test::strings;

// The router balances round robin over the peers serving a method, in node
// id order, skipping those a request tried already: a fresh router sends its
// first request to node-b, its second to node-c, and so on.

namespace {

using fixture = test::router_fixture;
using test::nodes_of;
using test::statuses_of;

/// One attempt a request (so the order is plain round robin); ejection
/// after 2 failures in a row, for 1 s.
policy ejecting() {
  auto p = test::make_policy("ejecting", "ns/*/*");
  p.retry.max_attempts = 1;
  p.outlier.consecutive_failures = 2;
  p.outlier.base_ejection = 1000ms;
  return p;
}

const auto overloaded = fake_answer::fail(status_code::overloaded);

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_ejection_tests, fixture)

CAF_TEST(a failing peer is ejected then skipped then probed and closed again) {
  start({ejecting()}, {"node-b", "node-c", "node-d"});
  peer("node-b").otherwise = overloaded;
  // Round robin: b (fails), c, d, b (fails again: ejected).
  std::vector<std::string> first;
  for (int i = 0; i < 4; ++i)
    first.push_back(dispatch(test::request(test::get_key)).handled_by());
  CAF_CHECK_EQUAL(first, (strings{"node-b", "node-c", "node-d", "node-b"}));
  auto row = breaker("node-b");
  CAF_CHECK_EQUAL(row.at("state"), "ejected");
  CAF_CHECK_EQUAL(row.at("service"), "ns/Svc");
  CAF_CHECK_EQUAL(row.at("times_ejected"), 1);
  CAF_CHECK_EQUAL(row.at("ejected_for_ms"), 1000);
  CAF_CHECK_EQUAL(stat("ejections"), 1);
  // While ejected it is skipped, and the explanation says so.
  for (int i = 0; i < 3; ++i) {
    if (i == 2)
      advance(999ms);
    auto r = dispatch(test::request(test::get_key));
    CAF_CHECK_EQUAL(test::code_name(r), "ok");
    CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 1);
    CAF_CHECK_NOT_EQUAL(r.explain().attempts(0).node(), "node-b");
    CAF_REQUIRE_EQUAL(r.explain().skipped_size(), 1);
    CAF_CHECK_EQUAL(r.explain().skipped(0).node(), "node-b");
    MESH_CHECK_MSG(contains(r.explain().skipped(0).reason(), "ejected"),
                   r.explain().skipped(0).reason());
  }
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 2u);
  // Its time is up: the next request is its one probe, which succeeds.
  advance(1ms);
  peer("node-b").otherwise = fake_answer::ok();
  auto probe = dispatch(test::explained(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(probe), "ok");
  CAF_CHECK_EQUAL(probe.handled_by(), "node-b");
  CAF_REQUIRE_EQUAL(probe.explain().attempts_size(), 1);
  CAF_CHECK(probe.explain().attempts(0).probe());
  CAF_CHECK_EQUAL(breaker_state("node-b"), "closed");
  // Closed: back in the rotation, no more probes.
  size_t to_b = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = dispatch(test::explained(test::get_key));
    CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 1);
    CAF_CHECK(!r.explain().attempts(0).probe());
    CAF_CHECK_EQUAL(r.explain().skipped_size(), 0);
    to_b += r.handled_by() == "node-b" ? 1 : 0;
  }
  CAF_CHECK_EQUAL(to_b, 1u);
}

CAF_TEST(a handler_error is an answer: not retried nor held against the peer) {
  auto p = ejecting();
  p.retry.max_attempts = 3; // retries allowed, the default retry_on
  start({p}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::fail(status_code::handler_error);
  for (int i = 0; i < 3; ++i) // b, c, b
    dispatch(test::request(test::get_key, "t" + std::to_string(i)));
  const auto& r = reply("t2");
  CAF_CHECK_EQUAL(test::code_name(r), "handler_error");
  CAF_CHECK_EQUAL(r.handled_by(), "node-b");
  CAF_CHECK_EQUAL(nodes_of(r), strings{"node-b"});
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 1u);
  auto row = breaker("node-b");
  CAF_CHECK_EQUAL(row.at("state"), "closed");
  CAF_CHECK_EQUAL(row.at("consecutive_failures"), 0);
  CAF_CHECK_EQUAL(row.at("successes"), 2);
  CAF_CHECK_EQUAL(stat("retried"), 0);
}

CAF_TEST(a failed probe ejects the peer again for longer) {
  start({ejecting()}, {"node-b", "node-c", "node-d"});
  peer("node-b").otherwise = overloaded;
  for (int i = 0; i < 4; ++i)
    dispatch(test::request(test::get_key));
  CAF_REQUIRE_EQUAL(breaker_state("node-b"), "ejected");
  advance(1000ms);
  auto probe = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(probe), "overloaded");
  CAF_REQUIRE_EQUAL(probe.explain().attempts_size(), 1);
  CAF_CHECK_EQUAL(probe.explain().attempts(0).node(), "node-b");
  CAF_CHECK(probe.explain().attempts(0).probe());
  auto row = breaker("node-b");
  CAF_CHECK_EQUAL(row.at("state"), "ejected");
  CAF_CHECK_EQUAL(row.at("times_ejected"), 2);
  CAF_CHECK_EQUAL(row.at("ejected_for_ms"), 2000);
}

CAF_TEST(with two peers and 50 percent at most one is ejected) {
  auto p = ejecting();
  p.outlier.max_ejected_percent = 50;
  start({p}, {"node-b", "node-c"});
  all_peers(overloaded);
  // b, c, b: node-b ejected after its second failure.
  for (int i = 0; i < 3; ++i)
    CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                    "overloaded");
  CAF_CHECK_EQUAL(breaker_state("node-b"), "ejected");
  // node-c fails on and on, but stays: it is all that is left.
  for (int i = 0; i < 4; ++i) {
    auto r = dispatch(test::request(test::get_key));
    CAF_CHECK_EQUAL(test::code_name(r), "overloaded");
    CAF_CHECK_EQUAL(r.handled_by(), "node-c");
    CAF_REQUIRE_EQUAL(r.explain().skipped_size(), 1);
    CAF_CHECK_EQUAL(r.explain().skipped(0).node(), "node-b");
  }
  auto c = breaker("node-c");
  CAF_CHECK_EQUAL(c.at("state"), "closed");
  CAF_CHECK_EQUAL(c.at("consecutive_failures"), 5);
  CAF_CHECK_EQUAL(c.at("times_ejected"), 0);
  CAF_CHECK_EQUAL(stat("ejections"), 1);
}

CAF_TEST(a targeted call to a service no peer serves leaves no record) {
  // Only the namespace must be shared for a targeted call. Its one peer
  // could never be ejected for a service nobody else serves, so nothing is
  // recorded: a caller naming ever new services must not grow the table.
  start({ejecting()}, {"node-b", "node-c"});
  peer("node-b").otherwise = overloaded;
  for (int i = 0; i < 50; ++i) {
    const service_key unknown{"ns", "Nobody" + std::to_string(i), "Call"};
    auto req = test::request(unknown);
    req.set_target_node_id("node-b");
    CAF_CHECK_EQUAL(test::code_name(dispatch(req)), "overloaded");
  }
  peer("node-c").otherwise = fake_answer::ok();
  auto req = test::request(service_key{"ns", "Nobody", "Call"});
  req.set_target_node_id("node-c");
  CAF_CHECK_EQUAL(test::code_name(dispatch(req)), "ok");
  CAF_CHECK_EQUAL(breakers().size(), 0u);
  CAF_CHECK_EQUAL(stat("ejections"), 0);
  // A served service targeted at a peer is recorded as any other call.
  auto served = test::request(test::get_key);
  served.set_target_node_id("node-b");
  CAF_CHECK_EQUAL(test::code_name(dispatch(served)), "overloaded");
  auto row = breaker("node-b");
  CAF_CHECK_EQUAL(row.at("service"), "ns/Svc");
  CAF_CHECK_EQUAL(row.at("failures"), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
