#pragma once

// The fixture of the topic_dispatcher suites: a dispatcher on CAF's
// deterministic scheduler whose function dispatchers run when the test says
// (manual_runner), helpers to register and publish, and a fake peer table.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/cluster/membership/peer_table.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/topics/topic_handler.hpp"
#include "check.hpp"
#include "fixtures.hpp"
#include "protocol/json/json_payload.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh::test {

using nlohmann::json;

struct topic_fixture : actor_fixture {
  std::shared_ptr<manual_runner> runner = std::make_shared<manual_runner>();
  caf::actor topics;
  std::map<std::string, int> runs; ///< executions per function dispatcher
  trace_ring_ptr traces = std::make_shared<trace_ring>("node-a", 100);

  topic_fixture() {
    topic_dispatcher_config cfg;
    cfg.node_id = "node-a";
    cfg.runner = runner;
    cfg.dispatcher_timeout = std::chrono::milliseconds{500};
    cfg.max_output_depth = 3;
    cfg.traces = traces;
    topics = caf::actor_cast<caf::actor>(spawn_topic_dispatcher(sys, cfg));
  }

  ~topic_fixture() {
    stop({topics});
  }

  // A function dispatcher that counts its runs and returns `outputs`.
  void add_counter(const std::string& id, std::vector<std::string> outputs = {},
                   std::set<std::string> types = {}) {
    auto* counter = &runs[id];
    ask<caf::ok_atom>(topics, atom::dispatcher_v,
                      make_function_dispatcher(
                        id, message_category::event,
                        [counter, outputs](const topic_message&) {
                          ++*counter;
                          return outputs;
                        },
                        std::move(types)));
  }

  void add_route(const std::string& id, const std::string& pattern,
                 const std::string& dispatcher, std::string type = {},
                 bool enabled = true) {
    ask<caf::ok_atom>(topics, atom::route_v,
                      topic_route{id, pattern, message_category::event,
                                  dispatcher, std::move(type), enabled});
  }

  // A publish of {"order_id": "o-1"}.
  static pb::PublishRequest message(const std::string& topic,
                                    const std::string& type = {},
                                    const std::string& category = "event") {
    pb::PublishRequest req;
    req.set_topic(topic);
    req.set_category(category);
    req.set_message_type(type);
    json_to_value({{"order_id", "o-1"}}, *req.mutable_payload());
    return req;
  }

  // Publishes, runs dispatcher jobs until nothing is left, returns the result.
  pb::PublishResponse publish(const std::string& topic,
                              const std::string& type = {},
                              const std::string& category = "event") {
    return publish(message(topic, type, category));
  }

  pb::PublishResponse publish(pb::PublishRequest req) {
    auto handle = self->request(topics, caf::infinite, std::move(req));
    run();
    while (runner->run_all() > 0)
      run();
    pb::PublishResponse result;
    bool got = false;
    handle.receive(
      [&](pb::PublishResponse& r) {
        result = std::move(r);
        got = true;
      },
      [&](caf::error& err) { CAF_FAIL("publish failed: " << sys.render(err)); });
    CAF_REQUIRE(got);
    return result;
  }

  // By value: CAF_CHECK_EQUAL must not hold a reference into a temporary.
  std::string status_of(const std::string& topic, const std::string& type = {},
                        const std::string& category = "event") {
    return publish(topic, type, category).status();
  }

  void connect_peer(const caf::actor& peer, const std::string& pattern,
                    peer_state state = peer_state::up) {
    auto table = std::make_shared<peer_table>();
    peer_route route;
    route.id = "node-b";
    route.state = state;
    route.peer = caf::actor_cast<peer_actor>(peer);
    table->peers.emplace("node-b", route);
    self->send(topics, atom::update_v, peer_table_ptr{table});
    pb::TopicRoutes routes;
    routes.set_node_id("node-b");
    routes.set_version(1);
    auto* r = routes.add_routes();
    r->set_route_id("b1");
    r->set_pattern(pattern);
    r->set_category("event");
    r->set_dispatcher_id("remote-audit");
    r->set_enabled(true);
    self->send(topics, atom::routes_v, routes);
    run();
  }
};

inline size_t count_status(const pb::PublishResponse& r, const std::string& status) {
  size_t n = 0;
  for (const auto& d : r.dispatchers())
    if (d.status() == status)
      ++n;
  return n;
}


} // namespace mesh::test
