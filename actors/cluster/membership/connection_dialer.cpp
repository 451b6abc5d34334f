// The dialling side of the connection manager: reaching an address through
// CAF's middleman, the hello/welcome exchange, re-dialling with backoff, and
// discovery of the members peers tell us about.

#include <optional>

#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/cluster/membership/connection_manager_state.hpp"
#include "actors/cluster/data/data_plane_glue.hpp"
#include "cluster/security/handshake.hpp"
#include "protocol/address.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

namespace {

// A one-shot actor that asks a gate for the handshake on the connection
// manager's behalf: the other side, which has not proved itself yet, sees
// this relay as the sender, never the connection manager.
using hello_relay = caf::typed_actor<
  caf::replies_to<atom::hello, gate_actor, pb::ConnectRequest,
                  peer_actor>::with<pb::ConnectResponse, peer_actor>>;

hello_relay::behavior_type relay_behavior(hello_relay::pointer self,
                                          caf::timespan timeout) {
  self->set_default_handler(caf::drop);
  return {
    [self, timeout](atom::hello, gate_actor& gate, pb::ConnectRequest& req,
                    peer_actor& ours)
      -> caf::result<pb::ConnectResponse, peer_actor> {
      auto rp = self->make_response_promise<pb::ConnectResponse, peer_actor>();
      self->request(gate, timeout, atom::hello_v, std::move(req), std::move(ours))
        .then(
          [self, rp](pb::ConnectResponse& resp, peer_actor& theirs) mutable {
            rp.deliver(std::move(resp), std::move(theirs));
            self->quit();
          },
          [self, rp](caf::error& err) mutable {
            rp.deliver(std::move(err));
            self->quit();
          });
      return rp;
    },
  };
}

} // namespace

// CAF's reason for a failed dial, in Mesh's words.
std::string connection_manager_state::explain_dial_error(
  const caf::error& err) const {
  auto tls_hint = std::string{cfg.tls ? " (this node speaks TLS)"
                                      : " (this node speaks plaintext)"};
  if (err == caf::sec::disconnect_during_handshake)
    return "the connection closed during the handshake: a TLS node refused "
           "the certificate, or one side speaks TLS and the other "
           "plaintext"
           + tls_hint;
  if (err == caf::sec::cannot_connect_to_node)
    return "nothing accepts connections there, or it is not a Mesh node "
           "speaking the same transport"
           + tls_hint;
  if (err == caf::sec::request_timeout)
    return "no answer within the connect timeout";
  return error_text(err);
}

void connection_manager_state::fill_hello(pb::ConnectRequest& req,
                                          const std::string& nonce) const {
  req.set_node_id(cfg.node_id);
  req.set_address(address);
  for (const auto& ns : dir.local_namespaces())
    req.add_namespaces(ns);
  req.set_protocol_version(protocol_version);
  req.set_incarnation(cfg.incarnation);
  req.set_heartbeat_interval_ms(beat_interval_ms());
  req.set_nonce(nonce);
  req.set_secret_proof(make_secret_proof(cfg.secret, "hello", cfg.node_id,
                                         cfg.incarnation, nonce));
  *req.mutable_services() = services;
  for (auto& m : dir.members())
    *req.add_members() = std::move(m);
}

void connection_manager_state::dial(const std::string& addr,
                                    dial_reason reason,
                                    caf::typed_response_promise<nlohmann::json>* waiter) {
  if (auto* rec = dir.find_by_address(addr);
      rec != nullptr && is_routable(rec->state)) {
    // Already connected (perhaps the peer dialled us meanwhile).
    retry.erase(addr);
    retry_reason.erase(addr);
    if (waiter != nullptr)
      waiter->deliver(describe_connection(*rec));
    return;
  }
  auto [i, fresh] = dials.try_emplace(addr);
  if (waiter != nullptr)
    i->second.waiters.push_back(*waiter);
  if (!fresh)
    return; // the attempt under way answers every waiter
  i->second.reason = reason;
  if (!started || leaving) {
    dial_failed(addr, make_error(status_code::unavailable,
                                 "node " + cfg.node_id + " is "
                                   + (leaving ? "leaving" : "not started")));
    return;
  }
  std::string error;
  auto hp = parse_host_port(addr, error);
  if (!hp) {
    dial_failed(addr, make_error(status_code::invalid_argument, error));
    return;
  }
  log->debug("dialling {}", addr);
  auto mm = cfg.transport ? cfg.transport
                          : self->system().middleman().actor_handle();
  self->request(mm, cfg.connect_timeout, caf::connect_atom::value, hp->host,
                hp->port)
    .then(
      [this, addr](caf::node_id&, caf::strong_actor_ptr& ptr,
                   std::set<std::string>&) {
        if (!ptr) {
          dial_failed(addr, make_error(status_code::unavailable,
                                       "no Mesh node listens at " + addr));
          return;
        }
        auto gate = caf::actor_cast<gate_actor>(ptr);
        auto node = ptr->node();
        if (auto i = dials.find(addr); i != dials.end())
          i->second.node = node;
        // Handed over pending: it admits nothing until the answer proves
        // that the other side knows the secret.
        peer_actor ours{ingress_for(node).actor};
        auto nonce = random_hex_token();
        pb::ConnectRequest req;
        fill_hello(req, nonce);
        if (cfg.data) {
          req.set_data_port(cfg.data->port());
          req.set_data_token(
            offer_data_link(*cfg.data, ingress_for(node).actor));
        }
        auto relay = self->spawn(relay_behavior,
                                 caf::timespan{cfg.connect_timeout});
        self->request(relay, cfg.connect_timeout + std::chrono::seconds{1},
                      atom::hello_v, gate, req, ours)
          .then(
            [this, addr, nonce, node](pb::ConnectResponse& resp,
                                      peer_actor& theirs) {
              welcomed(addr, nonce, node, resp, theirs);
            },
            [this, addr](caf::error& err) {
              if (to_status_code(err) == status_code::permission_denied)
                warn_refused(addr, error_text(err), true);
              dial_failed(addr, err);
            });
      },
      [this, addr](caf::error& err) {
        dial_failed(addr, make_error(status_code::unavailable,
                                     "cannot reach " + addr + ": "
                                       + explain_dial_error(err)));
      });
}

void connection_manager_state::welcomed(const std::string& addr,
                                        const std::string& nonce,
                                        const caf::node_id& node,
                                        pb::ConnectResponse& resp,
                                        peer_actor& theirs) {
  auto refuse = [&](status_code code, const std::string& why) {
    dial_failed(addr, make_error(code, why));
  };
  if (auto why = check_protocol_version(resp.protocol_version()); !why.empty())
    return refuse(status_code::invalid_argument, why);
  if (resp.peer_node_id() == cfg.node_id)
    return refuse(status_code::invalid_argument,
                  "node " + cfg.node_id + " cannot connect to itself");
  if (auto why = check_secret_proof(cfg.secret, resp.secret_proof(), "welcome",
                                    resp.peer_node_id(), resp.incarnation(),
                                    nonce);
      !why.empty()) {
    warn_refused(addr, why, false);
    return refuse(status_code::permission_denied, why);
  }
  if (!theirs)
    return refuse(status_code::invalid_argument, "handshake without an ingress");
  auto& entry = ingress_for(node);
  if (!entry.peer_id.empty() && entry.peer_id != resp.peer_node_id())
    return refuse(status_code::permission_denied,
                  "its connection already speaks for node " + entry.peer_id);
  if (entry.peer_id.empty()) // the peer proved itself: admit it
    entry.peer_id = resp.peer_node_id();
  // Arms it and hands it the peer's ingress: answers to batches go there.
  self->send(entry.actor, atom::connect_v, entry.peer_id, theirs);
  auto& rec = dir.get_or_add(resp.peer_node_id());
  bool same = rec.incarnation == resp.incarnation() && is_routable(rec.state);
  rec.address = resp.peer_address().empty() ? addr : resp.peer_address();
  rec.incarnation = resp.incarnation();
  rec.dialer = true;
  rec.redial.reset();
  rec.detector.pace(std::chrono::milliseconds{resp.heartbeat_interval_ms()});
  dir.apply(rec, resp.services());
  mark_up(rec, theirs, node, same);
  dial_data(rec, addr, resp.data_port(), resp.data_token());
  retry.erase(addr);
  retry_reason.erase(addr);
  refusals.erase(addr);
  removed.erase(rec.id); // reached and welcomed: no longer removed
  publish();
  auto i = dials.find(addr);
  if (i != dials.end()) {
    auto result = describe_connection(rec);
    for (auto& rp : i->second.waiters)
      rp.deliver(result);
    dials.erase(i);
  }
  discover(resp.members());
}

pb::Heartbeat connection_manager_state::make_heartbeat(bool with_members) const {
  pb::Heartbeat hb;
  hb.set_node_id(cfg.node_id);
  hb.set_sequence(heartbeat_seq);
  hb.set_services_version(services.version());
  hb.set_heartbeat_interval_ms(beat_interval_ms());
  if (with_members) {
    for (auto& m : dir.members())
      *hb.add_members() = std::move(m);
    *hb.mutable_reachability() = our_reachability();
  }
  return hb;
}

void connection_manager_state::gossip_members() {
  // Every state change ends in publish(), so this sees every change of the
  // member list; peers then learn of a new member without waiting a beat.
  if (leaving || !started)
    return;
  auto digest = gossip_digest();
  std::optional<pb::Heartbeat> hb;
  for (auto& [id, rec] : dir.records()) {
    if (!is_routable(rec.state) || rec.members_sent == digest)
      continue;
    if (!hb)
      hb = make_heartbeat(true);
    self->send(rec.remote, atom::heartbeat_v, *hb);
    rec.members_sent = digest;
  }
}

void connection_manager_state::mark_up(peer_record& rec,
                                       const peer_actor& theirs,
                                       const caf::node_id& node, bool same) {
  rec.members_sent = 0; // this connection has not had our member list yet
  rec.observed = false;
  rec.reported = false;
  if (rec.node != node) { // a new process of that peer: the old door closes
    if (rec.node != caf::node_id{})
      drop_ingress(rec.node);
    rec.node = node;
  }
  if (rec.remote != theirs) {
    if (rec.remote)
      self->demonitor(rec.remote.address());
    rec.remote = theirs;
    self->monitor(theirs);
  }
  if (cfg.memory && !rec.address.empty())
    cfg.memory->peer_addresses.insert(rec.address);
  if (same)
    return;
  rec.connection_id = make_connection_id(cfg.node_id, cfg.incarnation, rec.id,
                                         rec.incarnation);
  rec.detector.heard(now());
  dir.set_state(rec, peer_state::up, now());
  log->info("peer {} at {} is up (connection {}, shared: {})", rec.id,
            rec.address, rec.connection_id, dir.shared_with(rec).size());
}

nlohmann::json
connection_manager_state::describe_connection(const peer_record& rec) const {
  return {{"peer", rec.id},
          {"address", rec.address},
          {"connection_id", rec.connection_id},
          {"shared_namespaces", dir.shared_with(rec)},
          {"state", to_string(rec.state)}};
}

void connection_manager_state::dial_failed(const std::string& addr,
                                           const caf::error& err) {
  auto i = dials.find(addr);
  auto reason = i != dials.end() ? i->second.reason : dial_reason::learned;
  if (i != dials.end()) {
    // An ingress still pending was never admitted by anyone: it goes.
    if (auto j = ingresses.find(i->second.node);
        j != ingresses.end() && j->second.peer_id.empty())
      drop_ingress(i->second.node);
    for (auto& rp : i->second.waiters)
      rp.deliver(err);
    dials.erase(i);
  }
  log->info("cannot connect to {}: {}", addr, error_text(err));
  if (reason != dial_reason::operator_ && !leaving)
    schedule_retry(addr, reason);
}

void connection_manager_state::warn_refused(const std::string& addr,
                                            const std::string& why,
                                            bool by_them) {
  // A seed is re-dialled for ever: one warning a minute per address, the
  // attempts in between at debug.
  auto t = now();
  auto [i, fresh] = refusals.try_emplace(addr, t);
  if (!fresh && t - i->second < std::chrono::minutes{1}) {
    log->debug("{} refused the handshake again: {}", addr, why);
    return;
  }
  i->second = t;
  auto d = dials.find(addr);
  bool seed = d != dials.end() && d->second.reason == dial_reason::seed;
  auto who = std::string{seed ? "seed " : "node at "} + addr;
  bool secret = why.find("secret") != std::string::npos;
  if (by_them)
    log->warn("{} refused us: {} ({})", who,
              secret ? "wrong cluster secret" : "not admitted", why);
  else
    log->warn("{} answered without proof of our cluster secret ({}): not "
              "admitted",
              who, why);
}

void connection_manager_state::schedule_retry(const std::string& addr,
                                              dial_reason reason) {
  auto [i, added] = retry.emplace(addr, backoff{cfg.timing.redial_initial,
                                                cfg.timing.redial_max});
  if (reason == dial_reason::learned
      && i->second.attempts() >= learned_attempts) {
    retry.erase(i);
    retry_reason.erase(addr);
    return; // gossip about it was stale
  }
  retry_reason[addr] = reason;
  auto delay = i->second.next(std::uniform_real_distribution<>{0, 1}(rng));
  log->debug("re-dialling {} in {} ms", addr, delay.count());
  self->delayed_send(self, delay, atom::dial_v, addr);
}

void connection_manager_state::discover(
  const google::protobuf::RepeatedPtrField<pb::Member>& xs) {
  for (const auto& m : xs) {
    if (m.node_id() == cfg.node_id || m.address().empty()
        || m.address() == address)
      continue;
    auto* rec = dir.find(m.node_id());
    if (rec != nullptr && (is_routable(rec->state)
                           || rec->state == peer_state::left))
      continue;
    // Removed by an operator: a peer that still saw it must not bring it
    // back (a new process of it may come).
    if (tombstoned(m.node_id(), m.incarnation()))
      continue;
    if (dials.count(m.address()) > 0 || retry.count(m.address()) > 0)
      continue;
    // Both ends learn of each other from the same gossip; only the one with
    // the smaller id dials, so two nodes never dial each other at once
    // (CAF 0.17's BASP can leave one of two crossing handshakes hanging).
    if (cfg.node_id > m.node_id())
      continue;
    log->debug("learned member {} at {}", m.node_id(), m.address());
    dial(m.address(), dial_reason::learned);
  }
}

} // namespace mesh::detail
