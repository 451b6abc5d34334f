#define CAF_SUITE actors.topic_batch
#include "check.hpp"

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "fixtures.hpp"
#include "protocol/json/json_payload.hpp"

// Publish batches (issue 16), end to end on CAF's deterministic scheduler:
// node-a's topic dispatcher -> node-b's ingress for node-a -> node-b's
// topic dispatcher, answers back through node-a's ingress for node-b. Both
// nodes live in the test's actor system, so each ingress admits the test's
// own CAF node as "the peer".

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

namespace {

caf::behavior idle_cluster() {
  return {[](atom::heartbeat, const pb::Heartbeat&) {}};
}

// Keeps every batch it gets and answers none (a peer that dies).
caf::behavior silent_peer(caf::event_based_actor*,
                          std::shared_ptr<std::vector<pb::PublishBatch>> got) {
  return {
    [got](atom::batch, pb::PublishBatch& b) { got->push_back(std::move(b)); },
    [](atom::routes, const pb::TopicRoutes&) {},
  };
}

// Publishes what it is sent and keeps every answer (many in flight).
struct answers {
  std::vector<pb::PublishResponse> got;
  size_t errors = 0;
};

caf::behavior publisher(caf::event_based_actor* self, caf::actor topics,
                        std::shared_ptr<answers> out) {
  return {
    [=](pb::PublishRequest& req) {
      self->request(topics, caf::infinite, std::move(req))
        .then([=](pb::PublishResponse& r) { out->got.push_back(std::move(r)); },
              [=](caf::error&) { ++out->errors; });
    },
  };
}

topics_actor spawn_topics(caf::actor_system& sys, const std::string& node) {
  topic_dispatcher_config cfg;
  cfg.node_id = node;
  cfg.runner = std::make_shared<manual_runner>();
  cfg.dispatcher_timeout = std::chrono::milliseconds{500};
  return spawn_topic_dispatcher(sys, cfg);
}

struct fixture : actor_fixture {
  caf::actor cluster = sys.spawn(idle_cluster);
  topics_actor topics_a = spawn_topics(sys, "node-a");
  topics_actor topics_b = spawn_topics(sys, "node-b");
  peer_ingress_actor a_from_b; ///< node-a's ingress for node-b
  peer_ingress_actor b_from_a; ///< node-b's ingress for node-a
  std::shared_ptr<answers> out = std::make_shared<answers>();
  caf::actor client = sys.spawn(publisher, caf::actor_cast<caf::actor>(topics_a),
                                out);

  fixture() {
    a_from_b = ingress("node-a", "node-b", topics_a, sys.node());
    b_from_a = ingress("node-b", "node-a", topics_b, sys.node());
    arm(a_from_b, "node-b", b_from_a);
    arm(b_from_a, "node-a", a_from_b);
    // Two record dispatchers on each node.
    for (auto t : {topics_a, topics_b})
      for (const char* id : {"rec-1", "rec-2"}) {
        dispatcher_spec spec;
        spec.info = {id, message_category::event, {}, "record"};
        spec.keep = 4;
        ask<caf::ok_atom>(caf::actor_cast<caf::actor>(t), atom::dispatcher_v,
                          spec);
        ask<caf::ok_atom>(caf::actor_cast<caf::actor>(t), atom::route_v,
                          topic_route{std::string{id} + "-r", "orders.>",
                                      message_category::event, id, {}, true});
      }
    set_peer(peer_state::up, caf::actor_cast<peer_actor>(b_from_a));
  }

  ~fixture() {
    stop({caf::actor_cast<caf::actor>(a_from_b),
          caf::actor_cast<caf::actor>(b_from_a),
          caf::actor_cast<caf::actor>(topics_a),
          caf::actor_cast<caf::actor>(topics_b), client, cluster});
  }

  peer_ingress_actor ingress(const std::string& node, const std::string& peer,
                             topics_actor topics, caf::node_id peer_node) {
    peer_ingress_config cfg;
    cfg.node_id = node;
    cfg.peer_node = std::move(peer_node);
    cfg.peer_id = peer;
    cfg.cluster = caf::actor_cast<cluster_actor>(cluster);
    cfg.topics = std::move(topics);
    auto in = spawn_peer_ingress(sys, std::move(cfg));
    run();
    return in;
  }

  // What the connection manager does once both sides are known.
  void arm(const peer_ingress_actor& in, const std::string& peer,
           const peer_ingress_actor& theirs) {
    // The manager is the only one allowed to arm: done in its name.
    caf::send_as(caf::actor_cast<caf::actor>(cluster), in, atom::connect_v,
                 peer, caf::actor_cast<peer_actor>(theirs));
    run();
  }

  // node-a's view of node-b: its state and routes.
  void set_peer(peer_state state, peer_actor handle) {
    auto table = std::make_shared<peer_table>();
    peer_route route;
    route.id = "node-b";
    route.state = state;
    route.peer = std::move(handle);
    table->peers.emplace("node-b", route);
    self->send(topics_a, atom::update_v, peer_table_ptr{table});
    pb::TopicRoutes routes;
    routes.set_node_id("node-b");
    routes.set_version(1);
    auto* r = routes.add_routes();
    r->set_route_id("b1");
    r->set_pattern("orders.>");
    r->set_category("event");
    r->set_dispatcher_id("rec-1");
    r->set_enabled(true);
    self->send(topics_a, atom::routes_v, routes);
    run();
  }

  // Sends n publishes to node-a at once (all in its mailbox together).
  void publish_many(int n) {
    for (int i = 0; i < n; ++i) {
      pb::PublishRequest req;
      req.set_topic("orders." + std::to_string(i));
      req.set_category("event");
      json_to_value({{"order", i}}, *req.mutable_payload());
      self->send(client, std::move(req));
    }
    // The client sends them all before node-a runs: they wait in its
    // mailbox together, as under load.
    while (sched.prioritize(client))
      sched.run_once();
    run();
  }

  json metrics_a() {
    return ask<json>(caf::actor_cast<caf::actor>(topics_a), atom::metrics_v);
  }

  json records(const topics_actor& t, const std::string& id) {
    return ask<json>(caf::actor_cast<caf::actor>(t), atom::records_v, id);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(topic_batch_tests, fixture)

CAF_TEST(many publishes to one peer travel in one batch and each is answered once) {
  publish_many(8);
  CAF_REQUIRE_EQUAL(out->got.size(), 8u);
  CAF_CHECK_EQUAL(out->errors, 0u);
  std::set<std::string> topics;
  for (const auto& r : out->got) {
    CAF_CHECK_EQUAL(r.status(), "success");
    // Two dispatchers here, two on node-b.
    CAF_CHECK_EQUAL(r.dispatchers_size(), 4);
    size_t on_b = 0;
    for (const auto& d : r.dispatchers())
      on_b += d.node_id() == "node-b" ? 1 : 0;
    CAF_CHECK_EQUAL(on_b, 2u);
    topics.insert(r.topic());
  }
  CAF_CHECK_EQUAL(topics.size(), 8u); // one answer per publish
  auto m = metrics_a();
  CAF_CHECK_EQUAL(m["peer_batched"].get<uint64_t>(), 8u);
  CAF_CHECK_EQUAL(m["peer_batches"].get<uint64_t>(), 1u); // together
  // node-b ran its own dispatchers on local-only copies; records keep the
  // message as published (JSON built when read).
  auto kept = records(topics_b, "rec-2");
  CAF_REQUIRE_EQUAL(kept.size(), 4u); // keep = 4
  CAF_CHECK_EQUAL(kept.back()["topic"].get<std::string>(), "orders.7");
  CAF_CHECK(kept.back()["payload"] == (json{{"order", 7}}));
  CAF_CHECK_EQUAL(kept.back()["category"].get<std::string>(), "event");
  CAF_CHECK_EQUAL(records(topics_a, "rec-1").size(), 4u);
}

CAF_TEST(the answers to one batch travel back together) {
  // node-b's answers go through a spy on their way to node-a's ingress.
  auto sizes = std::make_shared<std::vector<int>>();
  auto spy = sys.spawn([sizes, to = a_from_b](caf::event_based_actor* me)
                         -> caf::behavior {
    return {[=](atom::batch, pb::PublishReplies& r) {
      sizes->push_back(r.tags_size());
      me->send(to, atom::batch_v, std::move(r));
    }};
  });
  arm(b_from_a, "node-a", caf::actor_cast<peer_ingress_actor>(spy));
  publish_many(8);
  CAF_CHECK_EQUAL(out->got.size(), 8u);
  CAF_CHECK_EQUAL(*sizes, (std::vector<int>{8}));
  stop({spy});
}

CAF_TEST(parts that wait on a dispatcher go alone and the rest at once) {
  // node-b also hands "orders.slow.*" to an actor dispatcher: those parts
  // wait on it, the others run at once; every part is answered once.
  auto seen = std::make_shared<int>(0);
  auto slow = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {[seen](atom::publish, const pb::PublishRequest&) {
      ++*seen;
      return json::array();
    }};
  });
  ask<caf::ok_atom>(caf::actor_cast<caf::actor>(topics_b), atom::dispatcher_v,
                    make_actor_dispatcher("slow", message_category::event,
                                          slow));
  ask<caf::ok_atom>(caf::actor_cast<caf::actor>(topics_b), atom::route_v,
                    topic_route{"slow-r", "orders.slow.>",
                                message_category::event, "slow", {}, true});
  for (int i = 0; i < 6; ++i) {
    pb::PublishRequest req;
    req.set_topic(i % 2 == 0 ? "orders.slow." + std::to_string(i)
                             : "orders." + std::to_string(i));
    req.set_category("event");
    self->send(client, std::move(req));
  }
  while (sched.prioritize(client))
    sched.run_once();
  run();
  CAF_REQUIRE_EQUAL(out->got.size(), 6u);
  CAF_CHECK_EQUAL(out->errors, 0u);
  std::set<std::string> topics;
  for (const auto& r : out->got) {
    CAF_CHECK_EQUAL(r.status(), "success");
    bool waits = r.topic().rfind("orders.slow.", 0) == 0;
    size_t on_b = 0;
    for (const auto& d : r.dispatchers())
      on_b += d.node_id() == "node-b" ? 1 : 0;
    CAF_CHECK_EQUAL(on_b, waits ? 3u : 2u);
    topics.insert(r.topic());
  }
  CAF_CHECK_EQUAL(topics.size(), 6u);
  CAF_CHECK_EQUAL(*seen, 3);
  CAF_CHECK_EQUAL(metrics_a()["peer_batches"].get<uint64_t>(), 1u);
  stop({slow});
}

CAF_TEST(a peer that goes down with a batch out fails those parts once) {
  auto got = std::make_shared<std::vector<pb::PublishBatch>>();
  auto dead = sys.spawn(silent_peer, got);
  set_peer(peer_state::up, caf::actor_cast<peer_actor>(dead));
  publish_many(3);
  CAF_REQUIRE_EQUAL(got->size(), 1u); // one batch of three
  CAF_REQUIRE_EQUAL(got->front().requests_size(), 3);
  CAF_CHECK(got->front().requests(0).local_only());
  CAF_CHECK(out->got.empty()); // waiting for node-b
  set_peer(peer_state::down, caf::actor_cast<peer_actor>(dead));
  CAF_REQUIRE_EQUAL(out->got.size(), 3u);
  for (const auto& r : out->got) {
    CAF_CHECK_EQUAL(r.status(), "publish_failed");
    CAF_CHECK(r.error_message().find("node-b") != std::string::npos);
  }
  // Its answers arriving after all: ignored, nobody is answered twice.
  pb::PublishReplies late;
  const auto& b = got->front();
  for (int i = 0; i < b.tags_size(); ++i) {
    late.add_tags(b.tags(i));
    late.add_responses()->set_status("success");
  }
  self->send(a_from_b, atom::batch_v, late);
  run();
  CAF_CHECK_EQUAL(out->got.size(), 3u);
  stop({dead});
}

CAF_TEST(answers in the name of another peer or with mismatched arrays are refused) {
  auto got = std::make_shared<std::vector<pb::PublishBatch>>();
  auto quiet = sys.spawn(silent_peer, got);
  set_peer(peer_state::up, caf::actor_cast<peer_actor>(quiet));
  publish_many(2);
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  const auto& b = got->front();
  auto replies = [&](int drop_tags) {
    pb::PublishReplies r;
    for (int i = 0; i < b.tags_size(); ++i) {
      if (i >= b.tags_size() - drop_tags)
        r.add_responses()->set_status("success");
      else {
        r.add_tags(b.tags(i));
        auto* x = r.add_responses();
        x->set_status("success");
        auto* o = x->add_dispatchers();
        o->set_node_id("node-b");
        o->set_dispatcher_id("rec-1");
        o->set_status("success");
      }
    }
    return r;
  };
  // Another peer naming node-b's tags: not its parts.
  self->send(topics_a, atom::batch_v, std::string{"node-c"}, replies(0));
  // Mismatched arrays through the ingress: dropped whole.
  self->send(a_from_b, atom::batch_v, replies(1));
  run();
  CAF_CHECK(out->got.empty());
  // The real answers, through node-a's ingress for node-b.
  self->send(a_from_b, atom::batch_v, replies(0));
  run();
  CAF_REQUIRE_EQUAL(out->got.size(), 2u);
  for (const auto& r : out->got)
    CAF_CHECK_EQUAL(r.status(), "success");
  stop({quiet});
}

CAF_TEST(a foreign or malformed publish batch runs nothing) {
  auto foreign = ingress(
    "node-b", "node-a", topics_b,
    *caf::make_node_id(4711, "0102030405060708090A0B0C0D0E0F1011121314"));
  pb::PublishBatch batch;
  for (int i = 0; i < 2; ++i) {
    auto* req = batch.add_requests();
    req->set_topic("orders.x");
    req->set_category("event");
    batch.add_tags(static_cast<uint64_t>(i));
  }
  // From a CAF node that is not the authenticated peer's.
  self->send(foreign, atom::batch_v, batch);
  run();
  // Arrays of unequal length from the peer itself.
  auto bad = batch;
  bad.mutable_tags()->RemoveLast();
  self->send(b_from_a, atom::batch_v, bad);
  run();
  CAF_CHECK(records(topics_b, "rec-1").empty());
  self->send_exit(foreign, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(an error that answers no request does not stop the dispatcher) {
  // What a peer's ingress of an older build sends back for a batch.
  caf::anon_send(caf::actor_cast<caf::actor>(topics_a),
                 make_error(status_code::invalid_argument, "unknown message"));
  run();
  publish_many(2);
  CAF_CHECK_EQUAL(out->got.size(), 2u);
  CAF_CHECK_EQUAL(out->errors, 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
