#define CAF_SUITE actors.batch_ingress
#include "check.hpp"

#include <map>
#include <set>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "ingress_fixture.hpp"

// The serving side of a batch (issue 16): the peer's ingress runs each
// request of a ServeBatch through the router and sends the answers, tagged
// as the batch tagged them, to the peer's ingress for this node, together
// when they complete together. A batch whose arrays differ is dropped.

using namespace mesh;
using namespace mesh::test;

using fixture = ingress_fixture;

CAF_TEST_FIXTURE_SCOPE(batch_ingress_tests, fixture)

CAF_TEST(a batch of n is answered with n tagged replies) {
  self->send(in, atom::batch_v, batch(8, 100));
  run();
  CAF_CHECK_EQUAL(seen->requests.size(), 8u);
  CAF_REQUIRE_EQUAL(answers(), 8u);
  // Completed together: one message back, not eight.
  CAF_REQUIRE_EQUAL(seen->replies.size(), 1u);
  const auto& r = seen->replies.front();
  CAF_REQUIRE_EQUAL(r.tags_size(), r.responses_size());
  std::set<uint64_t> tags;
  for (int i = 0; i < r.tags_size(); ++i) {
    // Each answer under the tag of its own request.
    CAF_CHECK_EQUAL(r.responses(i).trace_id(), "t" + std::to_string(r.tags(i)));
    tags.insert(r.tags(i));
  }
  CAF_CHECK_EQUAL(tags, (std::set<uint64_t>{100, 101, 102, 103, 104, 105,
                                            106, 107}));
}

CAF_TEST(requests the router sends back go alone and are answered once) {
  pb::ServeBatch b;
  for (auto id : {"exec1", "t2", "exec3", "t4"}) {
    b.add_requests()->set_trace_id(id);
    b.add_tags(static_cast<uint64_t>(b.tags_size() + 1));
  }
  self->send(in, atom::batch_v, std::move(b));
  run();
  CAF_CHECK_EQUAL(seen->requests.size(), 4u);
  CAF_REQUIRE_EQUAL(answers(), 4u);
  std::map<uint64_t, std::string> by_tag;
  for (const auto& r : seen->replies)
    for (int i = 0; i < r.tags_size(); ++i)
      CAF_CHECK(by_tag.emplace(r.tags(i), r.responses(i).trace_id()).second);
  CAF_CHECK_EQUAL(by_tag, (std::map<uint64_t, std::string>{
                            {1, "exec1"}, {2, "t2"}, {3, "exec3"}, {4, "t4"}}));
}

CAF_TEST(a router that is gone answers every tag of the batch once) {
  self->send_exit(router, caf::exit_reason::kill);
  run();
  self->send(in, atom::batch_v, batch(3, 20));
  run();
  CAF_REQUIRE_EQUAL(answers(), 3u);
  std::set<uint64_t> tags;
  for (const auto& r : seen->replies)
    for (int i = 0; i < r.tags_size(); ++i) {
      CAF_CHECK(tags.insert(r.tags(i)).second);
      CAF_CHECK_NOT_EQUAL(r.responses(i).status().code(), pb::OK);
    }
  CAF_CHECK_EQUAL(tags, (std::set<uint64_t>{20, 21, 22}));
}

CAF_TEST(a lone request is answered at once) {
  self->send(in, atom::batch_v, batch(1, 7));
  run();
  CAF_REQUIRE_EQUAL(seen->replies.size(), 1u);
  CAF_CHECK_EQUAL(seen->replies.front().tags(0), 7u);
}

CAF_TEST(a batch with mismatched arrays is dropped) {
  auto b = batch(3, 1);
  b.mutable_tags()->RemoveLast(); // three requests, two tags
  self->send(in, atom::batch_v, std::move(b));
  run();
  CAF_CHECK(seen->requests.empty()); // nothing ran
  CAF_CHECK(seen->replies.empty());
  // The ingress still serves the next, well-formed batch.
  self->send(in, atom::batch_v, batch(2, 10));
  run();
  CAF_CHECK_EQUAL(answers(), 2u);
}

CAF_TEST(answers of the peer go to the router in its name unless malformed) {
  pb::ServeReplies bad;
  bad.add_responses();
  bad.add_tags(1);
  bad.add_tags(2);
  self->send(in, atom::batch_v, std::move(bad));
  run();
  CAF_CHECK(seen->passed_on.empty());
  pb::ServeReplies good;
  good.add_responses();
  good.add_tags(1);
  self->send(in, atom::batch_v, std::move(good));
  run();
  CAF_CHECK_EQUAL(seen->passed_on, std::vector<std::string>{"mars"});
}

CAF_TEST(a batch from another CAF node is refused) {
  auto cfg = config();
  cfg.peer_node
    = *caf::make_node_id(4711, "0102030405060708090A0B0C0D0E0F1011121314");
  auto other = spawn_peer_ingress(sys, std::move(cfg));
  run();
  self->send(other, atom::batch_v, batch(2, 1));
  run();
  CAF_CHECK(seen->requests.empty());
  CAF_CHECK(seen->replies.empty());
  self->send_exit(other, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(a data-link token is given to the peer only with a data plane) {
  // This ingress has no data plane: port 0, no token.
  auto none = self->request(in, caf::infinite, atom::dial_v);
  run();
  none.receive(
    [](uint32_t port, const std::string& token) {
      CAF_CHECK_EQUAL(port, 0u);
      CAF_CHECK_EQUAL(token, "");
    },
    [](const caf::error& err) { CAF_FAIL("refused: " << error_text(err)); });
  auto plane = std::make_shared<data_plane>(data_plane_config{});
  CAF_REQUIRE_EQUAL(plane->start({}), "");
  auto cfg = config();
  cfg.data = plane;
  auto with = spawn_peer_ingress(sys, std::move(cfg));
  run();
  auto first = self->request(with, caf::infinite, atom::dial_v);
  run();
  first.receive(
    [&](uint32_t port, const std::string& token) {
      CAF_CHECK_EQUAL(port, plane->port());
      CAF_CHECK_EQUAL(token.size(), 32u);
    },
    [](const caf::error& err) { CAF_FAIL("refused: " << error_text(err)); });
  // Asked again at once: refused, so a peer cannot pile up tokens; a
  // second later it gets one again.
  auto second = self->request(with, caf::infinite, atom::dial_v);
  run();
  second.receive(
    [](uint32_t, const std::string&) { CAF_FAIL("a second token"); },
    [](const caf::error& err) {
      CAF_CHECK_EQUAL(to_status_code(err), status_code::overloaded);
    });
  sched.clock().current_time += std::chrono::seconds{1};
  auto third = self->request(with, caf::infinite, atom::dial_v);
  run();
  third.receive(
    [](uint32_t, const std::string& token) {
      CAF_CHECK_EQUAL(token.size(), 32u);
    },
    [](const caf::error& err) { CAF_FAIL("refused: " << error_text(err)); });
  // An ingress for another CAF node gives nothing to the test's actors.
  auto cfg_other = config();
  cfg_other.peer_node
    = *caf::make_node_id(4711, "0102030405060708090A0B0C0D0E0F1011121314");
  cfg_other.data = plane;
  auto other = spawn_peer_ingress(sys, std::move(cfg_other));
  run();
  auto stranger = self->request(other, caf::infinite, atom::dial_v);
  run();
  stranger.receive(
    [](uint32_t, const std::string&) { CAF_FAIL("a token for a stranger"); },
    [](const caf::error& err) {
      CAF_CHECK_EQUAL(to_status_code(err), status_code::permission_denied);
    });
  self->send_exit(with, caf::exit_reason::user_shutdown);
  self->send_exit(other, caf::exit_reason::user_shutdown);
  run();
  plane->stop();
}

CAF_TEST(answers above the reply bound become internal errors) {
  self->send_exit(in, caf::exit_reason::user_shutdown);
  run();
  auto cfg = config();
  cfg.max_reply_bytes = 100;
  in = spawn_peer_ingress(sys, std::move(cfg));
  run();
  pb::ServeBatch b;
  b.add_requests()->set_trace_id("big");
  b.add_tags(1);
  b.add_requests()->set_trace_id("small");
  b.add_tags(2);
  self->send(in, atom::batch_v, std::move(b));
  run();
  CAF_REQUIRE_EQUAL(answers(), 2u);
  for (const auto& r : seen->replies)
    for (int i = 0; i < r.tags_size(); ++i) {
      const auto& resp = r.responses(i);
      if (r.tags(i) == 1) {
        CAF_CHECK_EQUAL(resp.status().code(), pb::INTERNAL);
        CAF_CHECK_EQUAL(resp.payload().value().size(), 0u);
      } else {
        CAF_CHECK_EQUAL(resp.status().code(), pb::OK);
      }
    }
}

CAF_TEST_FIXTURE_SCOPE_END()
