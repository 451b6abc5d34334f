#define CAF_SUITE actors.cluster_network
#include "net_fixture.hpp"

#include "check.hpp"
#include "cluster/security/handshake.hpp"

using namespace mesh;
using namespace mesh::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct fixture : net_fixture {
  /// The state of `peer` as `from` sees it ("" if unknown).
  std::string state_of(planet& from, const std::string& peer) {
    auto view = peers(from);
    return view.contains(peer) ? view[peer].value("state", "") : "";
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_network_tests, fixture)

CAF_TEST(connect records one connection on both sides with the shared set) {
  start(earth, {"users", "orders"});
  start(mars, {"orders", "inventory"});
  prepare_link(earth, mars);
  auto r = connect(earth, mars);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL((*r)["peer"], "mars");
  CAF_CHECK_EQUAL((*r)["shared_namespaces"], json::array({"orders"}));
  auto on_earth = peers(earth);
  auto on_mars = peers(mars);
  CAF_REQUIRE(on_earth.contains("mars") && on_mars.contains("earth"));
  CAF_CHECK_EQUAL(on_earth["mars"]["state"], "up");
  CAF_CHECK_EQUAL(on_mars["earth"]["state"], "up");
  CAF_CHECK_EQUAL(on_earth["mars"]["connection_id"],
                  on_mars["earth"]["connection_id"]);
  CAF_CHECK_EQUAL(on_mars["earth"]["shared_namespaces"],
                  json::array({"orders"}));
  CAF_CHECK_EQUAL((*r)["connection_id"], on_earth["mars"]["connection_id"]);
}

CAF_TEST(an empty intersection is a valid connection that routes nothing) {
  start(earth, {"users"});
  start(mars, {"inventory"});
  add_handler(mars, "inventory", "Stock", "Get");
  prepare_link(earth, mars);
  auto r = connect(earth, mars);
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL((*r)["shared_namespaces"], json::array());
  auto log = dispatch(earth, make_dispatch("inventory", "Stock", "Get"));
  CAF_REQUIRE_EQUAL(log->dispatch.size(), 1u);
  CAF_CHECK(code_of(log->dispatch[0].status()) == status_code::not_found);
  CAF_CHECK(log->dispatch[0].status().message().find("'inventory'")
            != std::string::npos);
}

CAF_TEST(both sides route over the connection) {
  start(earth, {"users", "orders"});
  start(mars, {"users", "orders"});
  add_handler(earth, "users", "UserService", "Get");
  add_handler(mars, "orders", "OrderService", "Create");
  prepare_link(earth, mars);
  CAF_REQUIRE(connect(earth, mars));
  // The dialler routes to the acceptor...
  auto a = dispatch(earth, make_dispatch("orders", "OrderService", "Create"));
  CAF_REQUIRE_EQUAL(a->dispatch.size(), 1u);
  CAF_CHECK(code_of(a->dispatch[0].status()) == status_code::ok);
  CAF_CHECK_EQUAL(a->dispatch[0].handled_by(), "mars");
  CAF_CHECK_EQUAL(handler_node(a->dispatch[0]), "mars");
  // ...and the acceptor to the dialler (the seed design cannot).
  auto b = dispatch(mars, make_dispatch("users", "UserService", "Get"));
  CAF_REQUIRE_EQUAL(b->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(b->dispatch[0].handled_by(), "earth");
  // A target names the node; a target that does not share is not_found.
  auto c = dispatch(earth, make_dispatch("orders", "OrderService", "Create",
                                         "mars"));
  CAF_CHECK_EQUAL(c->dispatch.at(0).handled_by(), "mars");
}

CAF_TEST(a second connection between the same pair collapses into one) {
  start(earth, {"users"});
  start(mars, {"users"});
  prepare_link(earth, mars);
  prepare_link(mars, earth);
  auto first = connect(earth, mars);
  auto second = connect(mars, earth);
  CAF_REQUIRE(first && second);
  CAF_CHECK_EQUAL((*first)["connection_id"], (*second)["connection_id"]);
  CAF_CHECK_EQUAL(peers(earth).size(), 1u);
  CAF_CHECK_EQUAL(peers(mars).size(), 1u);
}

CAF_TEST(a hello from itself or with another protocol version is refused) {
  // (Over real sockets, dialling one's own address is a process test.)
  start(earth, {"users"});
  auto hello = [&](const std::string& id, uint32_t version) {
    pb::ConnectRequest req;
    req.set_node_id(id);
    req.set_protocol_version(version);
    auto slot = std::make_shared<caf::error>();
    earth.sys.spawn([=, gate = earth.gate](caf::event_based_actor* self) {
      self->request(gate, caf::infinite, atom::hello_v, req,
                    caf::actor_cast<peer_actor>(self))
        .then([](pb::ConnectResponse&, peer_actor&) {},
              [slot](caf::error& err) { *slot = err; });
    });
    exhaust();
    return *slot;
  };
  auto self_hello = hello("earth", protocol_version);
  CAF_CHECK(to_status_code(self_hello) == status_code::invalid_argument);
  CAF_CHECK(error_text(self_hello).find("cannot connect to itself")
            != std::string::npos);
  auto future = hello("venus", 99);
  CAF_CHECK(to_status_code(future) == status_code::invalid_argument);
  CAF_CHECK(error_text(future).find("incompatible protocol version 99")
            != std::string::npos);
  CAF_CHECK_EQUAL(peers(earth).size(), 0u);
}

CAF_TEST(auto-routing balances over the peers that serve the method) {
  start(earth, {"users"});
  start(mars, {"users"});
  start(jupiter, {"users"});
  add_handler(mars, "users", "UserService", "Get");
  add_handler(jupiter, "users", "UserService", "Get");
  prepare_link(earth, mars);
  prepare_link(earth, jupiter);
  CAF_REQUIRE(connect(earth, mars));
  CAF_REQUIRE(connect(earth, jupiter));
  std::map<std::string, int> hits;
  for (int i = 0; i < 6; ++i) {
    auto log = dispatch(earth, make_dispatch("users", "UserService", "Get"));
    ++hits[log->dispatch.at(0).handled_by()];
  }
  CAF_CHECK_EQUAL(hits["mars"], 3); // round robin, the default
  CAF_CHECK_EQUAL(hits["jupiter"], 3);
  // A peer that is down is skipped.
  mars.frozen = true;
  run_for(600ms);
  auto log = dispatch(earth, make_dispatch("users", "UserService", "Get"));
  CAF_CHECK_EQUAL(log->dispatch.at(0).handled_by(), "jupiter");
}

CAF_TEST(a wrong or missing secret is refused on both sides) {
  start(earth, {"users"}, "right");
  start(mars, {"users"}, "wrong");
  start(jupiter, {"users"});
  prepare_link(earth, mars);
  prepare_link(jupiter, earth);
  auto r = connect(earth, mars);
  CAF_REQUIRE(!r);
  CAF_CHECK(to_status_code(r.error()) == status_code::permission_denied);
  CAF_CHECK(error_text(r.error()).find("cluster secret mismatch")
            != std::string::npos);
  auto s = connect(jupiter, earth);
  CAF_REQUIRE(!s);
  CAF_CHECK(error_text(s.error()).find("no cluster secret")
            != std::string::npos);
  CAF_CHECK_EQUAL(peers(earth).size(), 0u);
  CAF_CHECK_EQUAL(peers(mars).size(), 0u);
  CAF_CHECK_EQUAL(peers(jupiter).size(), 0u);
}

CAF_TEST(a node that reaches one member learns and joins the others) {
  start(earth, {"users"});
  start(mars, {"users"});
  start(jupiter, {"users"});
  prepare_link(mars, earth);
  prepare_link(jupiter, earth);
  prepare_link(jupiter, mars); // jupiter learns mars from earth
  prepare_link(mars, jupiter); // mars may learn jupiter from a heartbeat
  CAF_REQUIRE(connect(mars, earth));
  CAF_REQUIRE(connect(jupiter, earth));
  run_for(300ms); // a few heartbeats spread the member lists
  for (auto* p : planets) {
    auto view = peers(*p);
    CAF_CHECK_EQUAL(view.size(), 2u);
    for (auto& [id, peer] : view.items())
      MESH_CHECK_MSG(peer["state"] == "up", p->id << " sees " << id << " as "
                                                  << peer["state"]);
  }
}

CAF_TEST(handlers added at run time reach peers without reconnecting) {
  start(earth, {"users", "orders"});
  start(mars, std::vector<std::string>{"users"});
  prepare_link(earth, mars);
  CAF_REQUIRE(connect(earth, mars));
  auto before = dispatch(earth, make_dispatch("users", "Late", "Join"));
  CAF_CHECK(code_of(before->dispatch.at(0).status()) == status_code::not_found);
  add_handler(mars, "users", "Late", "Join");
  auto after = dispatch(earth, make_dispatch("users", "Late", "Join"));
  CAF_CHECK(code_of(after->dispatch.at(0).status()) == status_code::ok);
  CAF_CHECK_EQUAL(after->dispatch.at(0).handled_by(), "mars");
  // A namespace added on mars becomes shared at once.
  caf::anon_send(mars.registry, atom::namespaces_v, atom::add_v,
                 std::string{"orders"});
  exhaust();
  auto view = peers(earth);
  CAF_CHECK_EQUAL(view["mars"]["shared_namespaces"],
                  json::array({"orders", "users"}));
}

CAF_TEST(a silent peer is suspect then down within interval times misses) {
  start(earth, {"users"});
  start(mars, {"users"});
  prepare_link(earth, mars);
  CAF_REQUIRE(connect(earth, mars));
  run_for(250ms);
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "up");
  mars.frozen = true; // stops answering, connection stays open
  run_for(300ms);
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "suspect");
  run_for(150ms); // 450 ms of silence > 100 ms x 4
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "down");
}

CAF_TEST(a request in flight to a dying peer is retried when idempotent) {
  start(earth, {"users"});
  start(mars, {"users"});
  start(jupiter, {"users"});
  add_handler(mars, "users", "UserService", "Get", true);
  add_handler(jupiter, "users", "UserService", "Get", true);
  add_handler(mars, "users", "UserService", "Create", false);
  prepare_link(earth, mars);
  prepare_link(earth, jupiter);
  CAF_REQUIRE(connect(earth, mars));
  CAF_REQUIRE(connect(earth, jupiter));
  mars.frozen = true;
  auto get = make_dispatch("users", "UserService", "Get", "");
  get.set_deadline_ms(5000);
  // Round robin over two peers: one of two requests lands on mars.
  auto first = dispatch(earth, get);
  auto second = dispatch(earth, get);
  auto create = dispatch(earth, make_dispatch("users", "UserService",
                                              "Create"));
  CAF_CHECK_EQUAL(first->total() + second->total(), 1u); // one is stuck
  CAF_CHECK_EQUAL(create->total(), 0u);                   // stuck on mars
  run_for(600ms); // mars is declared down
  for (auto& log : {first, second}) {
    CAF_REQUIRE_EQUAL(log->dispatch.size(), 1u);
    CAF_CHECK(code_of(log->dispatch[0].status()) == status_code::ok);
    CAF_CHECK_EQUAL(log->dispatch[0].handled_by(), "jupiter");
  }
  CAF_REQUIRE_EQUAL(create->dispatch.size(), 1u);
  CAF_CHECK(code_of(create->dispatch[0].status()) == status_code::unavailable);
  CAF_CHECK(create->dispatch[0].status().message().find("mars went down")
            != std::string::npos);
}

CAF_TEST(a leaving peer is left at once and no longer routed to) {
  start(earth, {"users"});
  start(mars, {"users"});
  add_handler(mars, "users", "UserService", "Get");
  prepare_link(earth, mars);
  CAF_REQUIRE(connect(earth, mars));
  mars.self->send(mars.cm, atom::leave_v);
  exhaust();
  CAF_CHECK_EQUAL(state_of(earth, "mars"), "left");
  auto r = dispatch(earth, make_dispatch("users", "UserService", "Get"));
  CAF_CHECK(code_of(r->dispatch.at(0).status()) == status_code::not_found);
}

CAF_TEST_FIXTURE_SCOPE_END()
