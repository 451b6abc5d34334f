#define CAF_SUITE actors.router_resilience
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

const auto unavailable = fake_answer::fail(status_code::unavailable);

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_resilience_tests, fixture)

// -- retries ------------------------------------------------------------------

CAF_TEST(an idempotent method is retried on another peer within the deadline) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = unavailable; // its handler ran and said so
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(nodes_of(r), (strings{"node-b", "node-c"}));
  CAF_CHECK_EQUAL(statuses_of(r), (strings{"unavailable", "ok"}));
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 1u);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 1u);
  CAF_CHECK_EQUAL(stat("retried"), 1);
}

CAF_TEST(a non-idempotent method whose handler answered is not retried) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = unavailable;
  auto r = dispatch(test::request(test::put_key));
  CAF_CHECK_EQUAL(test::code_name(r), "unavailable");
  CAF_CHECK_EQUAL(r.handled_by(), "node-b");
  CAF_CHECK_EQUAL(r.status().message(), "node-b says unavailable");
  CAF_CHECK_EQUAL(nodes_of(r), strings{"node-b"});
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  CAF_CHECK_EQUAL(stat("retried"), 0);
}

CAF_TEST(a non-idempotent method nothing ran for is retried) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  // Refused before any handler ran: no executor_id.
  peer("node-b").otherwise = fake_answer::fail(status_code::unavailable, false);
  auto r = dispatch(test::request(test::put_key));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(nodes_of(r), (strings{"node-b", "node-c"}));
  CAF_CHECK_EQUAL(statuses_of(r), (strings{"unavailable", "ok"}));
}

CAF_TEST(no retry is made when its backoff would pass the deadline) {
  auto p = test::make_policy("short", "ns/*/*");
  p.timeout = 80ms;
  p.retry.initial = 100ms;
  start({p}, {"node-b", "node-c"});
  peer("node-b").otherwise = unavailable;
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "unavailable");
  CAF_CHECK_EQUAL(r.handled_by(), "node-b");
  CAF_CHECK_EQUAL(r.explain().attempts_size(), 1);
  advance(1s);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  CAF_CHECK_EQUAL(replies->total(), 1u);
}

CAF_TEST(max_attempts bounds the attempts and a directive only lowers it) {
  auto p = test::make_policy("bounded", "ns/*/*");
  p.retry.max_attempts = 3;
  start({p}, {"node-b", "node-c", "node-d"});
  all_peers(unavailable);
  auto req = test::request(test::get_key);
  req.mutable_directives()->set_max_attempts(2);
  auto two = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(two), "unavailable");
  CAF_CHECK_EQUAL(two.explain().attempts_size(), 2);
  CAF_CHECK_EQUAL(received_total(), 2u);
  // Asking for more than the policy allows gets the policy's 3.
  req.mutable_directives()->set_max_attempts(9);
  auto three = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(three), "unavailable");
  CAF_CHECK_EQUAL(three.explain().attempts_size(), 3);
  auto nodes = nodes_of(three);
  std::sort(nodes.begin(), nodes.end());
  CAF_CHECK_EQUAL(nodes, (strings{"node-b", "node-c", "node-d"}));
  CAF_CHECK_EQUAL(received_total(), 5u);
}

CAF_TEST(retries back off exponentially on simulated time) {
  auto p = test::make_policy("backoff", "ns/*/*");
  p.retry.max_attempts = 3;
  p.retry.initial = 100ms;
  p.retry.multiplier = 2;
  p.retry.jitter = 0;
  start({p}, {"node-b", "node-c", "node-d"});
  all_peers(unavailable);
  send(test::request(test::get_key));
  CAF_CHECK_EQUAL(received_total(), 1u);
  advance(99ms);
  CAF_CHECK_EQUAL(received_total(), 1u);
  advance(1ms); // the first retry: 100 ms after the failure
  CAF_CHECK_EQUAL(received_total(), 2u);
  advance(199ms);
  CAF_CHECK_EQUAL(received_total(), 2u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance(1ms); // the second: 200 ms after the second failure
  CAF_CHECK_EQUAL(received_total(), 3u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK_EQUAL(test::code_name(r), "unavailable");
  CAF_CHECK_EQUAL(r.explain().attempts_size(), 3);
}

CAF_TEST(a per-try timeout moves a frozen attempt to the next peer) {
  auto p = test::make_policy("per-try", "ns/*/*");
  p.retry.per_try_timeout = 50ms;
  start({p}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::frozen();
  send(test::request(test::get_key, "t1"));
  CAF_REQUIRE_EQUAL(peer("node-b").received.size(), 1u);
  // The peer's budget is the per-try timeout, not the request's 5 s.
  CAF_CHECK_EQUAL(peer("node-b").received[0].deadline_ms(), 50u);
  advance(49ms);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance(1ms);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 1u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(nodes_of(r), (strings{"node-b", "node-c"}));
  CAF_CHECK_EQUAL(statuses_of(r), (strings{"deadline_exceeded", "ok"}));
  CAF_CHECK_EQUAL(r.explain().attempts(0).duration_us(), 50000u);
  // node-b's late answer is dropped.
  release("t1", fake_answer::ok());
  CAF_CHECK_EQUAL(replies->total(), 1u);
}

CAF_TEST(an exhausted retry budget answers the failure instead of retrying) {
  auto p = test::make_policy("tight", "ns/*/*");
  p.retry_budget.percent = 0;
  p.retry_budget.min_concurrency = 1; // one retry in flight at most
  start({p}, {"node-b", "node-c", "node-d"});
  all_peers(fake_answer::frozen());
  send(test::request(test::get_key, "t1"));
  send(test::request(test::get_key, "t2"));
  CAF_REQUIRE_EQUAL(received_total(), 2u);
  // t1 fails first: its retry takes the budget's one slot.
  auto first = release("t1", unavailable);
  CAF_CHECK_EQUAL(received_total(), 3u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  // t2 fails while that retry is out: no slot, t2 gets its failure.
  auto second = release("t2", unavailable);
  CAF_CHECK_NOT_EQUAL(first, second);
  CAF_CHECK_EQUAL(received_total(), 3u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& failed = reply("t2");
  CAF_CHECK_EQUAL(test::code_name(failed), "unavailable");
  CAF_CHECK_EQUAL(failed.handled_by(), second);
  CAF_CHECK_EQUAL(failed.explain().attempts_size(), 1);
  // t1's retry answers.
  auto third = release("t1", fake_answer::ok());
  CAF_CHECK_NOT_EQUAL(third, first);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 2u);
  const auto& retried = reply("t1");
  CAF_CHECK_EQUAL(test::code_name(retried), "ok");
  CAF_CHECK_EQUAL(retried.handled_by(), third);
  CAF_CHECK_EQUAL(retried.explain().attempts_size(), 2);
  auto s = stats();
  CAF_CHECK_EQUAL(s.at("budget_exhausted"), 1);
  CAF_CHECK_EQUAL(s.at("retried"), 1);
  auto row = ask<json>(router, atom::policies_v, std::string{"tight"});
  CAF_CHECK_EQUAL(row.at("budget").at("exhausted"), 1);
  CAF_CHECK_EQUAL(row.at("budget").at("retries_in_flight"), 0);
}

// -- hedging ------------------------------------------------------------------

CAF_TEST(the first answer of a hedged request wins) {
  auto p = test::make_policy("hedged", "ns/*/*");
  p.hedging.enabled = true;
  p.hedging.delay = 20ms;
  start({p}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::frozen();
  send(test::request(test::get_key, "t1"));
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 1u);
  advance(19ms);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  advance(1ms); // the hedge goes to node-c, which answers at once
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 1u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 2);
  const auto& a1 = r.explain().attempts(0);
  const auto& a2 = r.explain().attempts(1);
  CAF_CHECK_EQUAL(a1.node(), "node-b");
  CAF_CHECK(a1.abandoned());
  CAF_CHECK(!a1.hedged());
  CAF_CHECK_EQUAL(a2.node(), "node-c");
  CAF_CHECK(a2.hedged());
  CAF_CHECK(!a2.abandoned());
  CAF_CHECK_EQUAL(test::code_name(a2), "ok");
  // node-b answers late: nothing changes.
  release("t1", fake_answer::ok());
  advance(10s);
  CAF_CHECK_EQUAL(replies->total(), 1u);
  auto s = stats();
  CAF_CHECK_EQUAL(s.at("hedged"), 1);
  CAF_CHECK_EQUAL(s.at("hedge_wins"), 1);
  CAF_CHECK_EQUAL(s.at("hedge_dropped"), 1);
  CAF_CHECK_EQUAL(s.at("pending"), 0);
  // Outrun by the hedge: counted against node-b like a timeout.
  auto b = breaker("node-b");
  CAF_CHECK_EQUAL(b.at("consecutive_failures"), 1);
  CAF_CHECK_EQUAL(b.at("state"), "closed");
}

CAF_TEST(no hedge with HEDGE_OFF nor for a method that is not idempotent) {
  auto p = test::make_policy("hedged", "ns/*/*");
  p.hedging.enabled = true;
  p.hedging.delay = 20ms;
  start({p}, {"node-b", "node-c"});
  all_peers(fake_answer::frozen());
  auto off = test::explained(test::get_key, "t-off");
  off.mutable_directives()->set_hedge(pb::Directives::HEDGE_OFF);
  send(off);
  send(test::explained(test::put_key, "t-put"));
  CAF_REQUIRE_EQUAL(received_total(), 2u);
  advance(100ms);
  CAF_CHECK_EQUAL(received_total(), 2u);
  release("t-off", fake_answer::ok());
  release("t-put", fake_answer::ok());
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 2u);
  for (const auto& r : replies->dispatch) {
    CAF_CHECK_EQUAL(test::code_name(r), "ok");
    CAF_CHECK_EQUAL(r.explain().attempts_size(), 1);
  }
  CAF_CHECK_EQUAL(stat("hedged"), 0);
}

CAF_TEST(a per-try timeout after a failed hedge retries on a third peer) {
  auto p = test::make_policy("hedged", "ns/*/*");
  p.hedging.enabled = true;
  p.hedging.delay = 20ms;
  p.retry.per_try_timeout = 50ms;
  p.retry.max_attempts = 3;
  start({p}, {"node-b", "node-c", "node-d"});
  // Round robin: node-b first, the hedge to node-d, the retry to node-c.
  peer("node-b").otherwise = fake_answer::frozen();
  peer("node-d").otherwise = unavailable;
  send(test::request(test::get_key, "t1"));
  advance(20ms); // the hedge fails at once; node-b is still out
  CAF_CHECK_EQUAL(peer("node-d").received.size(), 1u);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance(29ms);
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 0u);
  advance(1ms); // node-b's per-try timeout: the third attempt
  CAF_CHECK_EQUAL(peer("node-c").received.size(), 1u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(nodes_of(r), (strings{"node-b", "node-d", "node-c"}));
  CAF_CHECK_EQUAL(statuses_of(r),
                  (strings{"deadline_exceeded", "unavailable", "ok"}));
  CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 3);
  CAF_CHECK(r.explain().attempts(1).hedged());
  CAF_CHECK(!r.explain().attempts(2).hedged());
}

// -- outlier ejection ---------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE_END()
