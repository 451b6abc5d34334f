#define CAF_SUITE actors.topic_dispatcher_peers
#include "check.hpp"
#include "topic_fixture.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

// Peers: one answers for a dispatcher of its own, one never answers (a
// node that dies mid-publish). A peer gets publishes in batches and its
// answers reach the topic dispatcher through our ingress for it, which the
// answering peer plays too.
pb::PublishResponse remote_answer(const pb::PublishRequest& req) {
  pb::PublishResponse r;
  r.set_status("success");
  auto* o = r.add_dispatchers();
  o->set_dispatcher_id("remote-audit");
  o->set_node_id("node-b");
  o->set_status(req.local_only() ? "success" : "dispatcher_error");
  return r;
}

caf::behavior answering_peer(caf::event_based_actor* self,
                             std::shared_ptr<int> calls, caf::actor topics) {
  return {
    [calls](atom::publish, const pb::PublishRequest& req) {
      ++*calls;
      return remote_answer(req);
    },
    [self, calls, topics](atom::batch, const pb::PublishBatch& b) {
      pb::PublishReplies replies;
      for (int i = 0; i < b.requests_size(); ++i) {
        ++*calls;
        *replies.add_responses() = remote_answer(b.requests(i));
        replies.add_tags(b.tags(i));
      }
      self->send(topics, atom::batch_v, std::string{"node-b"}, replies);
    },
    [](atom::routes, const pb::TopicRoutes&) {},
  };
}

caf::behavior silent_peer(caf::event_based_actor* self) {
  return {
    [self](atom::publish, const pb::PublishRequest&) {
      // Keep the request open forever: the peer "died".
      return self->make_response_promise<pb::PublishResponse>();
    },
    [](atom::batch, const pb::PublishBatch&) {}, // never answered
    [](atom::routes, const pb::TopicRoutes&) {},
  };
}

using fixture = test::topic_fixture;
using test::count_status;

} // namespace

CAF_TEST_FIXTURE_SCOPE(topic_dispatcher_peer_tests, fixture)

CAF_TEST(peers with matching routes run their part once) {
  auto calls = std::make_shared<int>(0);
  auto peer = sys.spawn(answering_peer, calls, topics);
  connect_peer(peer, "orders.>");
  add_counter("audit");
  add_route("a", "orders.>", "audit");
  auto r = publish("orders.1");
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(*calls, 1);
  CAF_CHECK_EQUAL(r.dispatchers_size(), 2);
  // A topic the peer has no route for does not go there.
  add_route("p", "payments.>", "audit");
  publish("payments.1");
  CAF_CHECK_EQUAL(*calls, 1);
  stop({peer});
}

CAF_TEST(a peer that goes down mid publish yields publish failed) {
  auto peer = sys.spawn(silent_peer);
  connect_peer(peer, "orders.>");
  add_counter("audit");
  add_route("a", "orders.>", "audit");
  pb::PublishRequest req;
  req.set_topic("orders.1");
  req.set_category("event");
  auto handle = self->request(topics, caf::infinite, std::move(req));
  run();
  runner->run_all();
  run();
  // The manager reports the peer down: its part fails at once.
  auto table = std::make_shared<peer_table>();
  peer_route down;
  down.id = "node-b";
  down.state = peer_state::down;
  down.peer = caf::actor_cast<peer_actor>(peer);
  table->peers.emplace("node-b", down);
  self->send(topics, atom::update_v, peer_table_ptr{table});
  run();
  pb::PublishResponse r;
  handle.receive([&](pb::PublishResponse& x) { r = std::move(x); },
                 [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK_EQUAL(r.status(), "publish_failed");
  CAF_CHECK_EQUAL(count_status(r, "success"), 1u);
  CAF_CHECK(r.error_message().find("node-b") != std::string::npos);
  stop({peer});
}

CAF_TEST(a peer that reconnects mid publish fails its parts at once) {
  // The same node id, still up, behind a new ingress (a restarted process
  // whose handshake came first): the old one answers nothing.
  auto old_peer = sys.spawn(silent_peer);
  connect_peer(old_peer, "orders.>");
  pb::PublishRequest req;
  req.set_topic("orders.1");
  req.set_category("event");
  auto handle = self->request(topics, caf::infinite, std::move(req));
  run();
  auto new_peer = sys.spawn(silent_peer);
  connect_peer(new_peer, "orders.>");
  pb::PublishResponse r;
  bool got = false;
  handle.receive(
    [&](pb::PublishResponse& x) {
      r = std::move(x);
      got = true;
    },
    [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_REQUIRE(got); // no time passed: not a timeout
  CAF_CHECK_EQUAL(r.status(), "publish_failed");
  CAF_CHECK(r.error_message().find("reconnected") != std::string::npos);
  stop({old_peer, new_peer});
}

CAF_TEST_FIXTURE_SCOPE_END()
