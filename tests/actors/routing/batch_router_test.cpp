#define CAF_SUITE actors.batch_router
#include "router_fixture.hpp"

// The requesting side of a batch (issue 16): attempts at one peer that are
// ready together leave in one ServeBatch, a lone one at once; answers come
// back by tag, and a tag that names no attempt out at that peer (unknown,
// finished, another peer's) is ignored, so every request is answered once.
// A peer ingress that goes away fails the attempts it held, as a lost
// request did before batching.

using namespace mesh;
using namespace std::chrono_literals;
using test::fake_answer;
using test::strings;

namespace {

struct fixture : test::router_fixture {
  /// Sends `n` requests without running the scheduler in between, then
  /// runs it: they reach the router together.
  void send_together(int n, const service_key& key) {
    for (int i = 0; i < n; ++i)
      self->send(client, test::request(key, "t" + std::to_string(i)));
    run();
  }

  void answer(const std::string& from_peer, uint64_t tag,
              const std::string& trace_id) {
    pb::ServeReplies r;
    auto* resp = r.add_responses();
    resp->set_executor_id(from_peer);
    resp->set_trace_id(trace_id);
    r.add_tags(tag);
    self->send(router, atom::batch_v, from_peer, std::move(r));
    run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(batch_router_tests, fixture)

CAF_TEST(requests ready together leave for a peer in one batch) {
  start({}, {"node-b"});
  send_together(8, test::get_key);
  CAF_CHECK_EQUAL(peer("node-b").batches, 1u);
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 8u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 8u);
  for (int i = 0; i < 8; ++i)
    CAF_CHECK_EQUAL(test::code_name(reply("t" + std::to_string(i))), "ok");
  CAF_CHECK_EQUAL(stat("batches"), 1);
  CAF_CHECK_EQUAL(stat("batched"), 8);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(a lone request is not held back) {
  start({}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(peer("node-b").batches, 1u);
}

CAF_TEST(answers for unknown tags or from another peer are ignored) {
  start({}, {"node-b", "node-c"});
  all_peers(fake_answer::frozen());
  send(test::request(test::get_key, "t1")); // round robin: node-b
  auto& b = peer("node-b");
  CAF_REQUIRE_EQUAL(b.held_batched.size(), 1u);
  auto tag = b.held_batched.front().tag;
  answer("node-b", tag + (uint64_t{1} << 40), "t1"); // no such call
  answer("node-b", tag + 7, "t1");                    // no such attempt
  answer("node-c", tag, "t1"); // the right tag from the wrong peer
  CAF_CHECK_EQUAL(replies->dispatch.size(), 0u);
  CAF_CHECK_EQUAL(stat("pending"), 1);
  release("t1", fake_answer::ok());
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(reply("t1").handled_by(), "node-b");
  answer("node-b", tag, "t1"); // late: the call is finished
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(a peer ingress that goes away fails the attempts it held) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::frozen();
  send(test::request(test::get_key, "get1")); // node-b: held
  send(test::request(test::get_key, "get2")); // node-c: answered
  send(test::request(test::put_key, "put")); // node-b: held
  CAF_CHECK_EQUAL(peer("node-b").held_batched.size(), 2u);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
  peer("node-b").held_batched.clear();
  self->send_exit(fakes.at("node-b"), caf::exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 3u);
  // Idempotent: retried elsewhere; not idempotent: unavailable.
  CAF_CHECK_EQUAL(test::code_name(reply("get1")), "ok");
  CAF_CHECK_EQUAL(reply("get1").handled_by(), "node-c");
  CAF_CHECK_EQUAL(test::code_name(reply("put")), "unavailable");
  CAF_CHECK_EQUAL(stat("pending"), 0);
  // Nothing answers twice when time runs on.
  advance(10s);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
