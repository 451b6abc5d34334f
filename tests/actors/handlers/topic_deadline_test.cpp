#define CAF_SUITE actors.topic_deadline
#include "check.hpp"
#include "topic_fixture.hpp"

// A publish's own deadline (PublishRequest.deadline_ms): it bounds the whole
// publish (local parts, peers' parts, outputs) when shorter than the
// dispatcher timeout (500 ms in the fixture); time moves only when a test
// says so.

using namespace mesh;
using nlohmann::json;

namespace {

using test::count_status;

struct fixture : test::topic_fixture {
  /// Moves the clock by `ms` and runs every actor: true when an answer
  /// waits for the test then.
  bool answered_after(int ms) {
    advance_time(std::chrono::milliseconds{ms});
    run();
    return !self->mailbox().empty();
  }

  /// Its status, by value (CAF_CHECK_EQUAL must not hold a reference into
  /// a temporary).
  template <class Handle>
  std::string answer_status(Handle& handle) {
    return answer(handle).status();
  }

  /// The publish's answer (it must have come).
  template <class Handle>
  pb::PublishResponse answer(Handle& handle) {
    CAF_REQUIRE(!self->mailbox().empty());
    pb::PublishResponse r;
    handle.receive([&](pb::PublishResponse& x) { r = std::move(x); },
                   [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return r;
  }
};

// Keeps the deadline each publish reaches it with; never answers.
caf::behavior silent_peer(caf::event_based_actor*,
                          std::shared_ptr<std::vector<uint32_t>> seen) {
  return {
    [seen](atom::batch, const pb::PublishBatch& b) {
      for (const auto& req : b.requests())
        seen->push_back(req.deadline_ms());
    },
    [](atom::routes, const pb::TopicRoutes&) {},
  };
}

pb::PublishRequest with_deadline(uint32_t ms) {
  auto req = test::topic_fixture::message("orders.1");
  req.set_deadline_ms(ms);
  return req;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(topic_deadline_tests, fixture)

CAF_TEST(the caller deadline ends the publish before the dispatcher timeout) {
  add_counter("fast");
  add_counter("slow");
  add_route("f", "orders.>", "fast");
  add_route("s", "orders.>", "slow");
  auto handle = self->request(topics, caf::infinite, with_deadline(100));
  run();
  CAF_REQUIRE_EQUAL(runner->waiting(), 2u);
  runner->run_one(); // "fast" answers; "slow" hangs
  run();
  CAF_CHECK(!answered_after(99)); // not before its deadline
  CAF_CHECK(answered_after(1));   // at it, 400 ms before the timeout
  auto r = answer(handle);
  CAF_CHECK_EQUAL(r.status(), "timeout");
  CAF_CHECK_EQUAL(count_status(r, "success"), 1u);
  CAF_CHECK_EQUAL(count_status(r, "timeout"), 1u);
  CAF_CHECK(r.error_message().find("no answer within 100 ms")
            != std::string::npos);
  runner->run_all(); // the late job does not run
  run();
  CAF_CHECK_EQUAL(runs["slow"], 0);
}

CAF_TEST(a deadline longer than the dispatcher timeout changes nothing) {
  add_counter("slow");
  add_route("s", "orders.>", "slow");
  auto handle = self->request(topics, caf::infinite, with_deadline(60000));
  run();
  CAF_CHECK(!answered_after(499));
  CAF_CHECK(answered_after(1));
  CAF_CHECK_EQUAL(answer_status(handle), "timeout");
}

CAF_TEST(a peer gets the deadline and is given up on at it) {
  // Without a deadline: the timeout plus a second for the network.
  auto seen = std::make_shared<std::vector<uint32_t>>();
  auto peer = sys.spawn(silent_peer, seen);
  connect_peer(peer, "orders.>");
  auto handle = self->request(topics, caf::infinite, with_deadline(200));
  run();
  // The peer's parts end a tenth earlier: its answer can still arrive.
  CAF_CHECK_EQUAL(*seen, std::vector<uint32_t>{180});
  CAF_CHECK(answered_after(200));
  CAF_CHECK_EQUAL(answer_status(handle), "timeout");
  // Without one, the peer bounds its parts by its own timeout; this node
  // waits that long and a second more for the network.
  handle = self->request(topics, caf::infinite, message("orders.1"));
  run();
  CAF_CHECK_EQUAL(seen->back(), 0u);
  CAF_CHECK(!answered_after(1499));
  CAF_CHECK(answered_after(1));
  CAF_CHECK_EQUAL(answer_status(handle), "timeout");
  stop({peer});
}

CAF_TEST(outputs get what is left of the deadline and none once it passed) {
  // "first" answers at 150 ms with an output whose dispatcher hangs: the
  // output's part ends at 200 ms, with the publish.
  add_counter("first", {"orders.next"});
  add_counter("stuck");
  add_route("f", "orders.1", "first");
  add_route("n", "orders.next", "stuck");
  auto handle = self->request(topics, caf::infinite, with_deadline(200));
  run();
  CAF_CHECK(!answered_after(150));
  CAF_REQUIRE(runner->run_one()); // "first", with its output
  run();
  CAF_CHECK(self->mailbox().empty()); // the output's part runs
  CAF_CHECK(answered_after(50));
  auto r = answer(handle);
  CAF_CHECK_EQUAL(r.status(), "timeout");
  CAF_CHECK_EQUAL(count_status(r, "success"), 1u);
  CAF_CHECK_EQUAL(count_status(r, "timeout"), 1u);
  runner->run_all(); // the output's late job does not run
  run();
  CAF_CHECK_EQUAL(runs["stuck"], 0);
  // A part still running at the deadline times out; another that answered
  // has outputs that are not published at all (no time is left for them).
  add_counter("slow");
  add_route("s", "orders.1", "slow");
  handle = self->request(topics, caf::infinite, with_deadline(200));
  run();
  CAF_REQUIRE(runner->run_one()); // "first" answers, "slow" hangs
  run();
  CAF_CHECK(answered_after(200));
  r = answer(handle);
  CAF_CHECK_EQUAL(r.status(), "timeout");
  CAF_CHECK(r.error_message().find("the caller's deadline passed; not "
                                   "published: 'orders.next'")
            != std::string::npos);
  CAF_CHECK_EQUAL(runs["stuck"], 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
