#define CAF_SUITE actors.peer_ingress
#include "check.hpp"

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "fixtures.hpp"

// The per-peer ingress admits only the authenticated peer's CAF node, only
// in that peer's name, and nothing at all until the connection manager arms
// it. Here the test's own actors play the peer (same CAF node) or a
// stranger (the ingress expects another node).

using namespace mesh;
using namespace mesh::test;

namespace {

using seen_list = std::shared_ptr<std::vector<std::string>>;

// Stands in for the connection manager: records the heartbeats forwarded to
// it, and arms an ingress when told to.
caf::behavior fake_cluster(caf::event_based_actor* self, seen_list seen) {
  return {
    [seen](atom::heartbeat, const pb::Heartbeat& hb) {
      seen->push_back(hb.node_id());
    },
    [self](atom::connect, const std::string& id, const peer_ingress_actor& who) {
      self->send(who, atom::connect_v, id, peer_actor{});
    },
  };
}

// Stands in for the router: answers every Serve request ok.
caf::behavior fake_router() {
  return {
    [](const pb::ServeRequest&) {
      pb::ServeResponse r;
      r.set_executor_id("here");
      return r;
    },
  };
}

struct fixture : actor_fixture {
  seen_list seen = std::make_shared<std::vector<std::string>>();
  caf::actor cluster = sys.spawn(fake_cluster, seen);
  caf::actor router = sys.spawn(fake_router);

  /// An ingress for `peer_id` at `peer_node` (no id: pending).
  peer_ingress_actor ingress(caf::node_id peer_node, std::string peer_id) {
    peer_ingress_config cfg;
    cfg.node_id = "earth";
    cfg.peer_node = std::move(peer_node);
    cfg.peer_id = std::move(peer_id);
    cfg.cluster = caf::actor_cast<cluster_actor>(cluster);
    cfg.router = caf::actor_cast<router_actor>(router);
    auto result = spawn_peer_ingress(sys, std::move(cfg));
    run();
    return result;
  }

  void heartbeat(const peer_ingress_actor& in, const std::string& from) {
    pb::Heartbeat hb;
    hb.set_node_id(from);
    self->send(in, atom::heartbeat_v, hb);
    run();
  }

  caf::expected<pb::ServeResponse> serve(const peer_ingress_actor& in) {
    auto h = self->request(in, caf::infinite, pb::ServeRequest{});
    run();
    caf::expected<pb::ServeResponse> result{caf::error{}};
    h.receive([&](pb::ServeResponse& r) { result = std::move(r); },
              [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  ~fixture() {
    stop({cluster, router});
  }
};

caf::node_id other_node() {
  return *caf::make_node_id(4711, "0102030405060708090A0B0C0D0E0F1011121314");
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(peer_ingress_tests, fixture)

CAF_TEST(messages from another CAF node are refused) {
  // The peer lives on another node: the test's own actors are strangers.
  auto in = ingress(other_node(), "mars");
  heartbeat(in, "mars");
  CAF_CHECK(seen->empty());
  auto r = serve(in);
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(to_status_code(r.error()), status_code::permission_denied);
  self->send_exit(in, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(the peer is admitted only in its own name) {
  auto in = ingress(sys.node(), "mars");
  heartbeat(in, "mars");
  heartbeat(in, "venus"); // speaks for another member: dropped
  CAF_CHECK_EQUAL(*seen, std::vector<std::string>{"mars"});
  auto r = serve(in);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->executor_id(), "here");
  self->send_exit(in, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(a pending ingress keeps everything until the cluster arms it) {
  auto in = ingress(sys.node(), ""); // no peer id: pending
  heartbeat(in, "mars");
  CAF_CHECK(seen->empty());
  // Anyone but the connection manager cannot arm it.
  self->send(in, atom::connect_v, std::string{"mars"}, peer_actor{});
  run();
  CAF_CHECK(seen->empty());
  self->send(cluster, atom::connect_v, std::string{"mars"}, in);
  run();
  CAF_CHECK_EQUAL(*seen, std::vector<std::string>{"mars"}); // kept, then let in
  self->send_exit(in, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(the ingress ends with the connection manager) {
  auto in = ingress(sys.node(), "mars");
  self->send_exit(cluster, caf::exit_reason::user_shutdown);
  run();
  auto r = serve(in);
  CAF_CHECK(!r);
}

CAF_TEST_FIXTURE_SCOPE_END()
