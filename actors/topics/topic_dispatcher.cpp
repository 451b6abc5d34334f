#include "actors/topics/topic_dispatcher.hpp"

#include "actors/guarded_promise.hpp"
#include "actors/local_only.hpp"

#include <caf/actor_system.hpp>

#include "actors/topics/topic_dispatcher_state.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/service_key.hpp"
#include "protocol/status.hpp"

namespace mesh {

// -- registration -------------------------------------------------------------

caf::error topic_dispatcher_state::add_dispatcher(dispatcher_spec spec) {
  auto& kind = spec.info.kind;
  if (kind.empty())
    kind = spec.fn ? "function" : spec.actor ? "actor" : "";
  std::string problem;
  if (kind == "function" && !spec.fn)
    problem = "a function dispatcher needs a function";
  else if (kind == "actor" && !spec.actor)
    problem = "an actor dispatcher needs an actor";
  else if (kind == "record" && spec.keep == 0)
    problem = "a record dispatcher must keep at least one message";
  else if (kind == "forward" && !parse_service_path(spec.forward_to))
    problem = "a forward dispatcher needs forward_to = namespace/Service/"
              "Method, not '" + spec.forward_to + "'";
  else if (kind != "function" && kind != "actor" && kind != "record"
           && kind != "forward")
    problem = "unknown dispatcher kind '" + kind
              + "' (function, actor, record or forward)";
  if (!problem.empty())
    return make_error(status_code::invalid_argument,
                      "dispatcher '" + spec.info.id + "': " + problem);
  if (auto err = table->add_dispatcher(spec.info); !err.empty())
    return make_error(table->frozen() ? status_code::permission_denied
                                      : status_code::invalid_argument,
                      err);
  auto id = spec.info.id;
  metrics[id];
  if (kind == "record")
    records[id];
  specs.emplace(std::move(id), std::move(spec));
  keep();
  return caf::none;
}

caf::error topic_dispatcher_state::add_route(topic_route r) {
  auto id = r.id;
  if (auto err = table->add_route(std::move(r)); !err.empty())
    return make_error(table->frozen() ? status_code::permission_denied
                                      : status_code::invalid_argument,
                      err);
  log->debug("route {} registered", id);
  routes_changed();
  return caf::none;
}

caf::error topic_dispatcher_state::enable_route(const std::string& id,
                                                bool enabled) {
  if (auto err = table->set_enabled(id, enabled); !err.empty())
    return make_error(table->frozen() ? status_code::permission_denied
                                      : status_code::not_found,
                      err);
  routes_changed();
  return caf::none;
}

// -- routes of peers ----------------------------------------------------------

pb::TopicRoutes topic_dispatcher_state::routes_message() const {
  pb::TopicRoutes msg;
  msg.set_node_id(cfg.node_id);
  msg.set_version(table->version());
  for (const auto& r : table->routes()) {
    auto* x = msg.add_routes();
    x->set_route_id(r.id);
    x->set_pattern(r.pattern);
    x->set_category(to_string(r.category));
    x->set_dispatcher_id(r.dispatcher_id);
    x->set_message_type(r.message_type);
    x->set_enabled(r.enabled);
  }
  return msg;
}

// Every peer gets the whole table again: tables are small and changes rare.
void topic_dispatcher_state::routes_changed() {
  synced.clear();
  on_peers(peers);
  keep();
}

void topic_dispatcher_state::keep() {
  if (!cfg.memory)
    return;
  cfg.memory->saved = true;
  cfg.memory->table = table;
  cfg.memory->specs = specs;
  cfg.memory->remote = remote;
}

void topic_dispatcher_state::adopt(const topic_dispatcher_memory& m) {
  table = m.table;
  specs = m.specs;
  remote = m.remote;
  for (const auto& [id, spec] : specs) {
    metrics[id];
    if (spec.info.kind == "record")
      records[id];
  }
  log->info("restarted with {} routes and {} dispatchers",
            table->routes().size(), specs.size());
}

void topic_dispatcher_state::on_peers(peer_table_ptr table_ptr) {
  peers = std::move(table_ptr);
  if (!peers)
    return;
  // A peer missing from the table (a restarted connection manager starts
  // with none) gets our routes again when it is back.
  for (auto i = synced.begin(); i != synced.end();)
    i = peers->find(*i) == nullptr ? synced.erase(i) : std::next(i);
  std::optional<pb::TopicRoutes> msg;
  for (const auto& [id, peer] : peers->peers) {
    if (!is_routable(peer.state) || !peer.peer) {
      synced.erase(id);
      continue;
    }
    if (synced.count(id) > 0)
      continue;
    if (!msg)
      msg = routes_message();
    self->send(peer.peer, atom::routes_v, *msg);
    synced.insert(id);
  }
  // Forget the routes of peers that left or are down: they route nothing.
  // A peer's routes can arrive before our table shows it up (it saw us
  // first), so a peer still unknown or joining keeps them; publishes only
  // ever use the routes of routable peers.
  for (auto i = remote.begin(); i != remote.end();) {
    auto* p = peers->find(i->first);
    if (p != nullptr
        && (p->state == peer_state::down || p->state == peer_state::left))
      i = remote.erase(i);
    else
      ++i;
  }
  keep();
  // A peer that went down answers nothing: its parts fail now.
  drop_outboxes_of_lost_peers();
  fail_parts_of_lost_peers();
}

void topic_dispatcher_state::on_peer_routes(const pb::TopicRoutes& msg) {
  // Messages from one peer arrive in order (CAF keeps FIFO per sender), so
  // the last table received is the current one (a restarted peer starts
  // its versions again: they are logged, not compared).
  auto& entry = remote[msg.node_id()];
  entry = route_table{false};
  for (const auto& x : msg.routes()) {
    topic_route r;
    r.id = x.route_id();
    r.pattern = x.pattern();
    r.category = parse_message_category(x.category())
                   .value_or(message_category::event);
    r.dispatcher_id = x.dispatcher_id();
    r.message_type = x.message_type();
    r.enabled = x.enabled();
    if (auto err = entry.add_route(std::move(r)); !err.empty())
      log->warn("ignoring a route of {}: {}", msg.node_id(), err);
  }
  log->debug("{} routes of {} (version {})", msg.routes_size(),
             msg.node_id(), msg.version());
  keep();
}

nlohmann::json record_json(const pb::PublishRequest& m) {
  return {{"topic", m.topic()},
          {"category", m.category()}, // validated before it was kept
          {"message_type", m.message_type()},
          {"payload", value_to_json(m.payload())},
          {"trace_id", m.trace_id()},
          {"dispatch_id", m.dispatch_id()}};
}

nlohmann::json topic_dispatcher_state::routes_json() const {
  auto list = nlohmann::json::array();
  auto add = [&](const std::string& node, const route_table& t) {
    for (const auto& r : t.routes()) {
      auto row = to_json(r);
      row["node"] = node;
      list.push_back(std::move(row));
    }
  };
  add(cfg.node_id, *table);
  for (const auto& [node, entry] : remote)
    add(node, entry);
  auto dispatchers = nlohmann::json::array();
  for (const auto& [id, d] : table->dispatchers())
    dispatchers.push_back({{"dispatcher_id", id},
                           {"kind", d.kind},
                           {"category", to_string(d.category)},
                           {"message_types", d.message_types}});
  return {{"node", cfg.node_id},
          {"frozen", table->frozen()},
          {"routes", std::move(list)},
          {"dispatchers", std::move(dispatchers)}};
}

nlohmann::json topic_dispatcher_state::metrics_json() const {
  auto list = nlohmann::json::array();
  for (const auto& [id, m] : metrics) {
    // A binding is not captured by C++17 lambdas (clang refuses it).
    const auto& latency = m.latency;
    auto us = [&latency](double q) {
      return static_cast<double>(latency.quantile(q)) / 1000.0;
    };
    list.push_back(
      {{"dispatcher_id", id},
       {"executions", m.executions},
       {"errors", m.errors},
       {"timeouts", m.timeouts},
       {"error_rate", m.executions == 0
                        ? 0.0
                        : static_cast<double>(m.errors)
                            / static_cast<double>(m.executions)},
       {"latency_us",
        {{"mean", m.latency.mean() / 1000.0}, {"p50", us(0.5)}, {"p99", us(0.99)}}}});
  }
  return {{"node", cfg.node_id},
          {"publishes", publishes},
          {"successful", publishes_ok},
          {"success_rate", publishes == 0 ? 0.0
                                          : static_cast<double>(publishes_ok)
                                              / static_cast<double>(publishes)},
          {"peer_batches", batches},
          {"peer_batched", batched},
          {"dispatchers", std::move(list)}};
}

// -- the actor ----------------------------------------------------------------

namespace {

caf::result<caf::ok_atom> ok_or(caf::error err) {
  if (err)
    return err;
  return caf::ok_atom::value;
}

topics_actor::behavior_type
topic_dispatcher(topics_actor::stateful_pointer<topic_dispatcher_state> self,
                 topic_dispatcher_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("topics");
  st.runner = cfg.runner ? cfg.runner
                         : make_thread_runner("mesh-topics", cfg.threads);
  st.cfg = std::move(cfg);
  if (st.cfg.memory && st.cfg.memory->saved)
    st.adopt(*st.cfg.memory);
  // An error that answers no request (a peer's ingress of an older build
  // refusing a PublishBatch) must not stop the dispatcher, as CAF's default
  // handler would: the parts it concerns end at their deadlines.
  self->set_error_handler([self, seen = std::make_shared<uint64_t>(0)](
                            caf::error& err) {
    if ((*seen)++ % 1000 < 3)
      self->state.log->warn("topic dispatcher of {} ignored an error that "
                            "answers no request ({} so far): {}",
                            self->state.cfg.node_id, *seen, error_text(err));
  });
  using publish_result = caf::result<pb::PublishResponse>;
  auto publish = [self](pb::PublishRequest& req) -> publish_result {
    if (!from_this_node(self)) // peers publish through their ingress
      return refused_remote();
    auto rp = self->make_response_promise<pb::PublishResponse>();
    guarded_typed_promise<pb::PublishResponse> answer{
      rp, "the topic dispatcher of node " + self->state.cfg.node_id};
    self->state.publish(std::move(req), [answer](pb::PublishResponse r) {
      answer.deliver(std::move(r));
    });
    return rp;
  };
  return {
    publish,
    [publish](atom::publish, pb::PublishRequest& req) mutable
      -> caf::result<pb::PublishResponse> { return publish(req); },
    [self](atom::batch, pb::PublishBatch& b)
      -> caf::result<pb::PublishReplies, pb::PublishBatch> {
      if (!from_this_node(self)) // peers publish through their ingress
        return refused_remote();
      auto [done, rest] = self->state.serve_batch(b);
      return {std::move(done), std::move(rest)};
    },
    [self](atom::dispatcher, dispatcher_spec& spec) {
      return ok_or(self->state.add_dispatcher(std::move(spec)));
    },
    [self](atom::route, topic_route& r) {
      return ok_or(self->state.add_route(std::move(r)));
    },
    [self](atom::route, const std::string& id, bool enabled) {
      if (!from_this_node(self))
        return ok_or(refused_remote());
      return ok_or(self->state.enable_route(id, enabled));
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      // Shutdown: refuse new publishes, answer once those running are done.
      auto& st = self->state;
      st.draining = true;
      if (st.runs.empty())
        return caf::ok_atom::value;
      auto rp = self->make_response_promise<caf::ok_atom>();
      st.drained.push_back(rp);
      return rp;
    },
    [self](atom::freeze) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      self->state.table->freeze();
      self->state.log->info("route table frozen ({} routes)",
                            self->state.table->routes().size());
      return caf::ok_atom::value;
    },
    [self](atom::routes) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.routes_json());
    },
    [self](atom::metrics) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.metrics_json());
    },
    [self](atom::records, const std::string& id) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto i = self->state.records.find(id);
      if (i == self->state.records.end())
        return make_error(status_code::not_found,
                          "no record dispatcher '" + id + "' on "
                            + self->state.cfg.node_id);
      auto list = nlohmann::json::array();
      for (const auto& m : i->second)
        list.push_back(record_json(*m));
      return json_result(std::move(list));
    },
    [self](atom::routes, const pb::TopicRoutes& msg) {
      if (!from_this_node(self))
        return;
      self->state.on_peer_routes(msg);
    },
    [self](atom::update, peer_table_ptr& table) {
      self->state.on_peers(std::move(table));
    },
    [self](atom::job_done, uint64_t seq, size_t slot, nlohmann::json& r) {
      // A function dispatcher finished on a runner thread.
      pb::DispatcherOutcome o;
      o.set_status(r.value("status", "success"));
      o.set_error(r.value("error", ""));
      for (const auto& t : r.value("outputs", nlohmann::json::array()))
        o.add_outputs(t.get<std::string>());
      self->state.part_done(seq, slot, std::move(o));
    },
    [self](atom::batch, const std::string& peer, pb::PublishReplies& r) {
      // From our ingress for `peer` (it checked the sender is that peer).
      if (from_this_node(self))
        self->state.on_replies(peer, r);
    },
    [self](atom::flush) {
      if (self->current_sender().get() == self->ctrl()) // own message only
        self->state.flush_all();
    },
    [self](atom::sweep) {
      if (from_this_node(self)) // own timer
        self->state.sweep();
    },
  };
}

} // namespace

topics_actor spawn_topic_dispatcher(caf::actor_system& sys,
                                    topic_dispatcher_config cfg) {
  return sys.spawn(topic_dispatcher, std::move(cfg));
}

} // namespace mesh
