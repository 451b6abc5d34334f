#include "actors/cluster/membership/connection_manager.hpp"

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cluster/membership/connection_manager_state.hpp"
#include "actors/cluster/data/data_plane_glue.hpp"
#include "cluster/security/handshake.hpp"
#include "actors/local_only.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

void connection_manager_state::start(const std::string& listen_address) {
  address = listen_address;
  started = true;
  log->info("node {} joins the cluster as {} (incarnation {})", cfg.node_id,
            address, cfg.incarnation);
  for (const auto& seed : cfg.seeds)
    if (seed != address)
      dial(seed, dial_reason::seed);
  if (cfg.memory) {
    // A restarted connection manager finds the peers its predecessor knew.
    cfg.memory->listen_address = address;
    for (const auto& peer : cfg.memory->peer_addresses)
      if (peer != address && dials.count(peer) == 0)
        dial(peer, dial_reason::learned);
  }
  schedule_tick();
}

void connection_manager_state::publish() {
  auto table = dir.snapshot();
  for (const auto& s : subscribers)
    caf::anon_send(s, atom::update_v, table);
  gossip_members();
}

void connection_manager_state::services_changed(const handler_table& table) {
  dir.set_local_namespaces(table.namespaces);
  services.set_node_id(cfg.node_id);
  services.set_version(table.version);
  services.clear_namespaces();
  for (const auto& ns : table.namespaces)
    services.add_namespaces(ns);
  services.clear_methods();
  for (const auto& [key, route] : table.active) {
    auto* m = services.add_methods();
    to_service_ref(key, *m->mutable_ref());
    m->set_idempotent(route.idempotent);
  }
  // Peers learn at once, without reconnecting.
  for (auto& [id, rec] : dir.records())
    if (is_routable(rec.state))
      self->send(rec.remote, atom::announce_v, services);
  publish();
}

ingress_entry& connection_manager_state::ingress_for(const caf::node_id& node) {
  auto [i, fresh] = ingresses.try_emplace(node);
  if (fresh) {
    peer_ingress_config ic;
    ic.node_id = cfg.node_id;
    ic.peer_node = node;
    ic.cluster = caf::actor_cast<cluster_actor>(self);
    ic.router = cfg.router;
    ic.strategies = cfg.strategies;
    ic.topics = cfg.topics;
    ic.tasks = cfg.tasks;
    ic.max_reply_bytes = cfg.max_reply_bytes;
    ic.serve_chunk = cfg.serve_chunk;
    ic.serve_chunk_adaptive = cfg.serve_chunk_adaptive;
    ic.traces = cfg.traces;
    ic.data = cfg.data;
    i->second.actor = spawn_peer_ingress(self->system(), std::move(ic));
  }
  return i->second;
}

void connection_manager_state::drop_ingress(const caf::node_id& node) {
  auto i = ingresses.find(node);
  if (i == ingresses.end())
    return;
  self->send_exit(i->second.actor, caf::exit_reason::user_shutdown);
  ingresses.erase(i);
}

caf::result<pb::ConnectResponse, peer_actor>
connection_manager_state::accept(const pb::ConnectRequest& req,
                                 const peer_actor& theirs,
                                 const caf::node_id& from) {
  auto refuse = [&](status_code code, const std::string& why) {
    log->warn("refused connection from '{}' at {}: {}", req.node_id(),
              req.address(), why);
    return make_error(code, why);
  };
  if (!started || leaving)
    return refuse(status_code::unavailable,
                  "node " + cfg.node_id + (leaving ? " is leaving the cluster"
                                                   : " is not ready yet"));
  if (auto why = check_protocol_version(req.protocol_version()); !why.empty())
    return refuse(status_code::invalid_argument, why);
  if (req.node_id() == cfg.node_id)
    return refuse(status_code::invalid_argument,
                  "node " + cfg.node_id + " cannot connect to itself");
  if (auto why = check_name("node id", req.node_id()); !why.empty())
    return refuse(status_code::invalid_argument, why);
  if (auto why = check_secret_proof(cfg.secret, req.secret_proof(), "hello",
                                    req.node_id(), req.incarnation(),
                                    req.nonce());
      !why.empty())
    return refuse(status_code::permission_denied, why);
  if (!theirs)
    return refuse(status_code::invalid_argument, "handshake without an ingress");
  auto& entry = ingress_for(from);
  if (!entry.peer_id.empty() && entry.peer_id != req.node_id())
    return refuse(status_code::permission_denied,
                  "its connection already speaks for node " + entry.peer_id);
  if (entry.peer_id.empty())
    entry.peer_id = req.node_id();
  // Arms it and hands it the peer's ingress: answers to batches go there.
  self->send(entry.actor, atom::connect_v, entry.peer_id, theirs);
  peer_actor ours{entry.actor};
  auto& rec = dir.get_or_add(req.node_id());
  // A second connection of a live pair collapses into the first.
  bool same = rec.incarnation == req.incarnation() && is_routable(rec.state);
  rec.address = req.address();
  rec.incarnation = req.incarnation();
  rec.detector.pace(std::chrono::milliseconds{req.heartbeat_interval_ms()});
  dir.apply(rec, req.services());
  mark_up(rec, theirs, from, same);
  removed.erase(rec.id); // it came back by itself: no longer removed
  publish();
  discover(req.members());
  pb::ConnectResponse resp;
  resp.mutable_status()->set_code(pb::OK);
  resp.set_connection_id(rec.connection_id);
  for (auto& ns : dir.shared_with(rec))
    resp.add_shared_namespaces(std::move(ns));
  resp.set_peer_node_id(cfg.node_id);
  resp.set_peer_address(address);
  resp.set_secret_proof(make_secret_proof(cfg.secret, "welcome", cfg.node_id,
                                          cfg.incarnation, req.nonce()));
  resp.set_protocol_version(protocol_version);
  resp.set_incarnation(cfg.incarnation);
  resp.set_heartbeat_interval_ms(beat_interval_ms());
  *resp.mutable_services() = services;
  for (auto& m : dir.members())
    if (m.node_id() != req.node_id())
      *resp.add_members() = std::move(m);
  if (cfg.data) { // each side dials the other's data port for its requests
    resp.set_data_port(cfg.data->port());
    resp.set_data_token(offer_data_link(*cfg.data, entry.actor));
    dial_data(rec, req.address(), req.data_port(), req.data_token());
  }
  return caf::make_result(std::move(resp), std::move(ours));
}

void connection_manager_state::tick() {
  if (leaving)
    return;
  ++heartbeat_seq;
  auto t = now();
  // A tick far later than due means this node stood still (SIGSTOP, a
  // starved CPU): the silence it sees is its own, not its peers'.
  auto interval = cfg.timing.heartbeat_interval;
  bool paused = last_tick != clock::time_point{} && t - last_tick > 2 * interval;
  last_tick = t;
  update_ring();
  // Beats go to the ring's next nodes only (cluster/monitor_ring.hpp). The
  // full member list and our verdicts go to any routable peer that has not
  // had the current ones (gossip), and on every Nth beat to the ring as a
  // safety net; else a bare beat: most of an idle cluster's traffic.
  auto digest = gossip_digest();
  bool full_beat = heartbeat_seq % full_members_every == 0;
  auto bare = make_heartbeat(false);
  std::optional<pb::Heartbeat> full;
  bool changed = false;
  std::vector<std::string> gone; // removed on a peer, down here now
  for (auto& [id, rec] : dir.records()) {
    if (!is_routable(rec.state))
      continue;
    bool beat = ring.beat_to.count(id) > 0;
    if (rec.members_sent != digest || (beat && full_beat)) {
      if (!full)
        full = make_heartbeat(true);
      self->send(rec.remote, atom::heartbeat_v, *full);
      rec.members_sent = digest;
    } else if (beat) {
      self->send(rec.remote, atom::heartbeat_v, bare);
    }
    if (!rec.watched)
      continue;
    if (paused) {
      rec.detector.heard(t);
      continue;
    }
    auto assessed = rec.detector.assess(t);
    bool verdict = assessed != peer_state::up;
    changed |= verdict != rec.observed; // our report changes
    rec.observed = verdict;
    rec.reported = false;
    if (!dir.set_state(rec, assessed, t))
      continue;
    changed = true;
    log->warn("peer {} is {} (silent for {} ms)", id, to_string(assessed),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                t - rec.detector.last_heard())
                .count());
    if (assessed == peer_state::down && tombstoned(id, rec.incarnation))
      gone.push_back(id);
    else if (assessed == peer_state::down && rec.dialer)
      schedule_retry(rec.address, dial_reason::redial);
  }
  for (const auto& id : gone)
    if (auto* rec = dir.find(id))
      forget(*rec);
  redial_data_links(t);
  // An observer that went down no longer speaks for the peers it watched.
  changed |= apply_reports();
  if (changed)
    publish();
  schedule_tick();
}

void connection_manager_state::schedule_tick() {
  auto interval = cfg.timing.heartbeat_interval;
  if (interval.count() <= 0)
    return;
  auto delay = next_beat_delay(now().time_since_epoch(), interval);
  self->delayed_send(self, delay, atom::tick_v);
}

void connection_manager_state::leave() {
  if (leaving)
    return;
  leaving = true;
  pb::Leave msg;
  msg.set_node_id(cfg.node_id);
  msg.set_reason("graceful leave");
  for (auto& [id, rec] : dir.records())
    if (is_routable(rec.state))
      self->send(rec.remote, atom::leave_v, msg);
  log->info("node {} told {} peer(s) it is leaving", cfg.node_id,
            dir.routable());
}

nlohmann::json connection_manager_state::stats() const {
  return {{"cluster_size", 1 + dir.routable()},
          {"peers_up", dir.routable()},
          {"peers_known", const_cast<peer_directory&>(dir).records().size()},
          {"incarnation", cfg.incarnation},
          {"data_links_redialled", data_redials},
          {"tls", cfg.tls},
          {"leaving", leaving}};
}

} // namespace mesh::detail

namespace mesh {

namespace {

using detail::connection_manager_state;

cluster_actor::behavior_type connection_manager_behavior(
  cluster_actor::stateful_pointer<connection_manager_state> self,
  connection_manager_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("cluster");
  st.dir = peer_directory{cfg.timing};
  st.cfg = std::move(cfg);
  st.services.set_node_id(st.cfg.node_id);
  if (auto router = st.cfg.router.get()) {
    st.subscribers.push_back(caf::actor_cast<caf::actor>(router));
    caf::anon_send(router, atom::update_v, st.dir.snapshot());
  }
  for (const auto& s : st.cfg.subscribers) {
    st.subscribers.push_back(s);
    caf::anon_send(s, atom::update_v, st.dir.snapshot());
  }
  if (auto registry = st.cfg.registry.get())
    caf::anon_send(registry, atom::subscribe_v,
                   caf::actor_cast<caf::actor>(self));
  if (st.cfg.memory && !st.cfg.memory->listen_address.empty())
    st.start(st.cfg.memory->listen_address);
  for (const auto& s : st.subscribers)
    self->monitor(s);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.on_down(dm); });
  return {
    [self](atom::hello, const pb::ConnectRequest& req, const peer_actor& theirs,
           const caf::node_id& from)
      -> caf::result<pb::ConnectResponse, peer_actor> {
      // From the gate only: its handle is the one that peers can reach.
      if (!from_this_node(self))
        return refused_remote();
      return self->state.accept(req, theirs, from);
    },
    [self](atom::heartbeat, const pb::Heartbeat& hb) {
      if (from_this_node(self)) // from the peer's ingress
        self->state.on_heartbeat(hb);
    },
    [self](atom::announce, const pb::ServiceAnnouncement& a) {
      if (from_this_node(self))
        self->state.on_announce(a);
    },
    [self](atom::leave, const pb::Leave& msg) {
      if (from_this_node(self))
        self->state.on_peer_leave(msg);
    },
    [self](atom::update, const std::string& listen_address) {
      if (from_this_node(self))
        self->state.start(listen_address);
    },
    [self](atom::update, const handler_table_ptr& table) {
      if (table)
        self->state.services_changed(*table);
    },
    [self](atom::subscribe, const caf::actor& who) {
      if (!from_this_node(self) || !who || who.node() != self->node())
        return;
      self->state.subscribers.push_back(who);
      self->monitor(who);
      caf::anon_send(who, atom::update_v, self->state.dir.snapshot());
    },
    [self](atom::connect, const std::string& address)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto rp = self->make_response_promise<nlohmann::json>();
      self->state.dial(address, detail::dial_reason::operator_, &rp);
      return rp;
    },
    [self](atom::leave) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      self->state.leave();
      return caf::ok_atom::value;
    },
    [self](atom::remove, const pb::Leave& msg) {
      if (from_this_node(self)) // from a peer's ingress
        self->state.on_forget(msg);
    },
    [self](atom::remove, const std::string& id) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      if (auto err = self->state.remove(id))
        return err;
      return caf::ok_atom::value;
    },
    [self](atom::peers,
           const nlohmann::json& in_flight) -> caf::result<nlohmann::json> {
      return json_result(self->state.dir.describe(self->state.now(), in_flight));
    },
    [self](atom::stats) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.stats());
    },
    [self](atom::trace, const std::string& id) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.gather_trace(id);
    },
    [self](atom::tick) {
      if (from_this_node(self)) // own timer
        self->state.tick();
    },
    [self](atom::dial, const std::string& address) {
      if (!from_this_node(self)) // own timer
        return;
      auto i = self->state.retry_reason.find(address);
      if (i != self->state.retry_reason.end())
        self->state.dial(address, i->second);
    },
  };
}

} // namespace

cluster_actor spawn_connection_manager(caf::actor_system& sys,
                                       connection_manager_config cfg) {
  return sys.spawn(connection_manager_behavior, std::move(cfg));
}

} // namespace mesh
