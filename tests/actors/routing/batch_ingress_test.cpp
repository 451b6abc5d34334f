#define CAF_SUITE actors.batch_ingress
#include "check.hpp"

#include <map>
#include <set>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "fixtures.hpp"

// The serving side of a batch (issue 16): the peer's ingress runs each
// request of a ServeBatch through the router and sends the answers, tagged
// as the batch tagged them, to the peer's ingress for this node, together
// when they complete together. A batch whose arrays differ is dropped.

using namespace mesh;
using namespace mesh::test;

namespace {

struct seen_batches {
  std::vector<pb::ServeReplies> replies;  ///< at the peer's ingress
  std::vector<pb::ServeRequest> requests; ///< at the router
  std::vector<std::string> passed_on;     ///< ServeReplies at the router, by peer
};

using seen_ptr = std::shared_ptr<seen_batches>;

// Stands in for the peer's ingress for us: records the answers.
caf::behavior fake_return(caf::event_based_actor*, seen_ptr seen) {
  return {
    [seen](atom::batch, pb::ServeReplies& r) {
      seen->replies.push_back(std::move(r));
    },
  };
}

// Stands in for the router: answers every Serve request ok, echoing its
// trace id ("big": with a payload of 200 bytes); records the peer's
// answers passed on to it.
pb::ServeResponse echo(const pb::ServeRequest& req) {
  pb::ServeResponse r;
  r.set_executor_id("earth");
  r.set_trace_id(req.trace_id());
  if (req.trace_id() == "big")
    r.mutable_payload()->set_value(std::string(200, 'x'));
  return r;
}

// As the real router does with a whole batch: answers at once, except the
// requests whose trace id starts with "exec" (they need an executor: sent
// back, for the ingress to send alone).
caf::behavior echo_router(caf::event_based_actor*, seen_ptr seen) {
  return {
    [seen](const pb::ServeRequest& req) {
      seen->requests.push_back(req);
      return echo(req);
    },
    [seen](atom::batch, pb::ServeBatch& b) {
      pb::ServeReplies done;
      pb::ServeBatch rest;
      for (int i = 0; i < b.requests_size(); ++i) {
        const auto& req = b.requests(i);
        if (req.trace_id().rfind("exec", 0) == 0) {
          *rest.add_requests() = req;
          rest.add_tags(b.tags(i));
          continue;
        }
        seen->requests.push_back(req);
        *done.add_responses() = echo(req);
        done.add_tags(b.tags(i));
      }
      return caf::make_message(std::move(done), std::move(rest));
    },
    [seen](atom::batch, const std::string& peer, const pb::ServeReplies&) {
      seen->passed_on.push_back(peer);
    },
  };
}

caf::behavior idle_cluster() {
  return {[](atom::heartbeat, const pb::Heartbeat&) {}};
}

struct fixture : actor_fixture {
  seen_ptr seen = std::make_shared<seen_batches>();
  caf::actor cluster = sys.spawn(idle_cluster);
  caf::actor router = sys.spawn(echo_router, seen);
  caf::actor back = sys.spawn(fake_return, seen);
  peer_ingress_actor in;

  fixture() {
    in = spawn_peer_ingress(sys, config());
    run();
  }

  ~fixture() {
    stop({caf::actor_cast<caf::actor>(in), cluster, router, back});
  }

  /// An armed ingress for peer "mars", whose node the test's own actors
  /// play, answering to `back`.
  peer_ingress_config config() {
    peer_ingress_config cfg;
    cfg.node_id = "earth";
    cfg.peer_node = sys.node();
    cfg.peer_id = "mars";
    cfg.reply_to = caf::actor_cast<peer_actor>(back);
    cfg.cluster = caf::actor_cast<cluster_actor>(cluster);
    cfg.router = caf::actor_cast<router_actor>(router);
    return cfg;
  }

  static pb::ServeBatch batch(int n, uint64_t first_tag) {
    pb::ServeBatch b;
    for (int i = 0; i < n; ++i) {
      auto* req = b.add_requests();
      req->set_trace_id("t" + std::to_string(first_tag + i));
      b.add_tags(first_tag + static_cast<uint64_t>(i));
    }
    return b;
  }

  size_t answers() const {
    size_t n = 0;
    for (const auto& r : seen->replies)
      n += static_cast<size_t>(r.responses_size());
    return n;
  }
};

} // namespace

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
