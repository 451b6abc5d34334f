#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/actor_names.hpp"
#include "actors/cluster/ingress/peer_ingress_publish.hpp"
#include "actors/cluster/ingress/peer_ingress_serve.hpp"
#include "actors/cluster/data/data_plane_glue.hpp"

#include <memory>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

// This node's records of one trace as a JSON array; oldest records are
// dropped to stay within the reply bound (a peer must never get a reply the
// transport would cut the connection for).
std::string trace_reply(const peer_ingress_config& cfg, const std::string& id) {
  if (!cfg.traces)
    return "[]";
  auto records = cfg.traces->to_json(id);
  auto text = records.dump();
  while (cfg.max_reply_bytes > 0 && text.size() > cfg.max_reply_bytes
         && !records.empty()) {
    records.erase(records.begin());
    text = records.dump();
  }
  return text;
}

struct peer_ingress_state {
  static inline const char* name = actor_names::peer_ingress;
  peer_ingress_config cfg;
  std::shared_ptr<spdlog::logger> log;
  uint64_t refused = 0;
  ingress_serves serves;       // peer_ingress_serve.cpp
  ingress_serves link_serves;  // the same for batches on a data link
  ingress_publishes publishes; // peer_ingress_publish.cpp
  caf::actor_clock::time_point last_token; ///< (atom::dial)
};

using self_ptr = peer_ingress_actor::stateful_pointer<peer_ingress_state>;

// Whether the current message comes from the authenticated peer's node.
bool admitted(self_ptr self) {
  const auto& src = self->current_sender();
  if (src && src->node() == self->state.cfg.peer_node)
    return true;
  auto& st = self->state;
  // Logged at warn for the first few, then every 1000th: a flood must not
  // fill the log.
  if (st.refused++ % 1000 < 3)
    st.log->warn("node {} refused a message for peer {} from {} ({} so far)",
                 st.cfg.node_id, st.cfg.peer_id,
                 src ? caf::to_string(src->node()) : "an anonymous sender",
                 st.refused);
  return false;
}

// Whether a message that names a node names the authenticated peer.
bool names_peer(self_ptr self, const std::string& node_id) {
  if (node_id == self->state.cfg.peer_id)
    return true;
  self->state.log->warn("peer {} sent a message in the name of '{}': dropped",
                        self->state.cfg.peer_id, node_id);
  return false;
}

caf::error refusal(self_ptr self) {
  return make_error(status_code::permission_denied,
                    "node " + self->state.cfg.node_id
                      + " accepts this only from an authenticated member");
}

peer_ingress_actor::behavior_type armed(self_ptr self) {
  return {
    [self](atom::heartbeat, pb::Heartbeat& hb) {
      if (admitted(self) && names_peer(self, hb.node_id()))
        self->send(self->state.cfg.cluster, atom::heartbeat_v, std::move(hb));
    },
    [self](atom::announce, pb::ServiceAnnouncement& a) {
      if (admitted(self) && names_peer(self, a.node_id()))
        self->send(self->state.cfg.cluster, atom::announce_v, std::move(a));
    },
    [self](atom::leave, pb::Leave& msg) {
      if (admitted(self) && names_peer(self, msg.node_id()))
        self->send(self->state.cfg.cluster, atom::leave_v, std::move(msg));
    },
    [self](atom::remove, pb::Leave& msg) {
      // Names a third node (the one removed), never the sender.
      if (admitted(self) && msg.node_id() != self->state.cfg.peer_id)
        self->send(self->state.cfg.cluster, atom::remove_v, std::move(msg));
    },
    [self](pb::ServeRequest& req) -> caf::result<pb::ServeResponse> {
      if (!admitted(self))
        return refusal(self);
      auto rp = self->make_response_promise<pb::ServeResponse>();
      self->request(self->state.cfg.router.get(), caf::infinite, std::move(req))
        .then([rp, max = self->state.cfg.max_reply_bytes,
               node = self->state.cfg.node_id](pb::ServeResponse& r) mutable {
                bound_reply(r, max, node);
                rp.deliver(std::move(r));
              },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::batch, pb::ServeBatch& b) {
      auto& st = self->state;
      if (admitted(self))
        serve_batch(self, st.cfg, st.serves, *st.log, b);
    },
    [self](data_batch& d) {
      // Local-only type: this node's data plane, on a link whose token we
      // issued to this very peer. Its answers go back on that link (the
      // peer fails what it sent there if the link dies); a BASP batch's
      // answers go by BASP, so each fails with its own transport.
      auto& st = self->state;
      if (st.link_serves.link != d.link) {
        flush_serve_replies(self, st.cfg, st.link_serves, *st.log);
        st.link_serves.link = std::move(d.link);
      }
      serve_batch(self, st.cfg, st.link_serves, *st.log, d.batch);
    },
    [self](atom::batch, pb::ServeReplies& r) {
      auto& st = self->state;
      if (!admitted(self))
        return;
      if (r.responses_size() != r.tags_size()) {
        if (st.serves.dropped++ % 1000 < 3)
          st.log->warn("peer {} sent {} answers with {} tags: dropped",
                       st.cfg.peer_id, r.responses_size(), r.tags_size());
        return;
      }
      // The router checks each tag names an attempt at this very peer.
      self->send(st.cfg.router.get(), atom::batch_v, st.cfg.peer_id,
                 std::move(r));
    },
    [self](atom::flush) {
      if (self->current_sender().get() != self->ctrl())
        return; // own message only
      auto& st = self->state;
      st.serves.flush_pending = false;
      st.link_serves.flush_pending = false;
      flush_serve_replies(self, st.cfg, st.serves, *st.log);
      flush_serve_replies(self, st.cfg, st.link_serves, *st.log);
      flush_publish_replies(self, st.cfg, st.publishes);
    },
    [self](atom::batch, pb::PublishBatch& b) {
      auto& st = self->state;
      if (admitted(self))
        serve_publish_batch(self, st.cfg, st.publishes, *st.log, b);
    },
    [self](atom::batch, pb::PublishReplies& r) {
      auto& st = self->state;
      if (admitted(self))
        pass_on_publish_replies(self, st.cfg, st.publishes, *st.log, r);
    },
    [self](atom::publish,
           pb::PublishRequest& req) -> caf::result<pb::PublishResponse> {
      if (!admitted(self))
        return refusal(self);
      if (!self->state.cfg.topics)
        return make_error(status_code::unavailable,
                          "node " + self->state.cfg.node_id
                            + " has no topic dispatcher");
      auto rp = self->make_response_promise<pb::PublishResponse>();
      self->request(self->state.cfg.topics.get(), caf::infinite, atom::publish_v,
                    std::move(req))
        .then(
          [rp](pb::PublishResponse& r) mutable { rp.deliver(std::move(r)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::routes, pb::TopicRoutes& msg) {
      if (admitted(self) && names_peer(self, msg.node_id())
          && self->state.cfg.topics)
        self->send(self->state.cfg.topics.get(), atom::routes_v, std::move(msg));
    },
    [self](atom::evidence, pb::BanditEvidence& msg) {
      // Evidence is gossip: it carries every node's counters, not one.
      if (admitted(self) && self->state.cfg.strategies)
        self->send(self->state.cfg.strategies.get(), atom::evidence_v,
                   std::move(msg));
    },
    [self](atom::heartbeat, pb::TaskHeartbeat& hb) {
      // A handler on the peer extends the lease of a task queued here.
      if (admitted(self) && names_peer(self, hb.from_node())
          && hb.queue_node() == self->state.cfg.node_id)
        if (auto tasks = self->state.cfg.tasks.get())
          self->send(tasks, atom::heartbeat_v, std::move(hb));
    },
    [self](atom::trace, const std::string& id) -> caf::result<std::string> {
      // Answered here from the ring (thread-safe): no actor of the node is
      // bothered for a read.
      if (!admitted(self))
        return refusal(self);
      return trace_reply(self->state.cfg, id);
    },
    [self](atom::dial) -> caf::result<uint32_t, std::string> {
      // The peer's link to our data port failed: a fresh token for it.
      if (!admitted(self))
        return refusal(self);
      auto& st = self->state;
      if (!st.cfg.data || st.cfg.data->port() == 0)
        return {uint32_t{0}, std::string{}};
      if (st.cfg.data->take_token_refusal())
        return make_error(status_code::unavailable,
                          "node " + st.cfg.node_id
                            + " refused a data-link token (fault injection)");
      auto t = self->clock().now();
      if (t - st.last_token < std::chrono::seconds{1})
        return make_error(status_code::overloaded,
                          "node " + st.cfg.node_id
                            + " issued a data-link token less than a second "
                              "ago");
      st.last_token = t;
      return {uint32_t{st.cfg.data->port()},
              offer_data_link(*st.cfg.data,
                              caf::actor_cast<peer_ingress_actor>(self))};
    },
    [self](atom::connect, const std::string& id, peer_actor& theirs) {
      // Armed already; a later handshake of the same peer may bring its
      // ingress again.
      auto& st = self->state;
      if (self->current_sender()
            == caf::actor_cast<caf::strong_actor_ptr>(st.cfg.cluster)
          && id == st.cfg.peer_id && theirs)
        st.cfg.reply_to = std::move(theirs);
    },
  };
}

peer_ingress_actor::behavior_type pending(self_ptr self) {
  // Everything the peer sends waits in the mailbox until the connection
  // manager has checked the peer's answer: then it is admitted (or the
  // ingress ends, and with it what waited).
  return {
    [](atom::heartbeat, pb::Heartbeat&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::announce, pb::ServiceAnnouncement&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::leave, pb::Leave&) -> caf::result<void> { return caf::skip; },
    [](atom::remove, pb::Leave&) -> caf::result<void> { return caf::skip; },
    [](pb::ServeRequest&) -> caf::result<pb::ServeResponse> {
      return caf::skip;
    },
    [](atom::batch, pb::ServeBatch&) -> caf::result<void> { return caf::skip; },
    [](data_batch&) -> caf::result<void> { return caf::skip; },
    [](atom::batch, pb::ServeReplies&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::flush) -> caf::result<void> { return caf::skip; },
    [](atom::batch, pb::PublishBatch&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::batch, pb::PublishReplies&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::publish, pb::PublishRequest&) -> caf::result<pb::PublishResponse> {
      return caf::skip;
    },
    [](atom::routes, pb::TopicRoutes&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::evidence, pb::BanditEvidence&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::heartbeat, pb::TaskHeartbeat&) -> caf::result<void> {
      return caf::skip;
    },
    [](atom::trace, std::string&) -> caf::result<std::string> {
      return caf::skip;
    },
    [](atom::dial) -> caf::result<uint32_t, std::string> { return caf::skip; },
    [self](atom::connect, std::string& peer_id, peer_actor& theirs) {
      if (self->current_sender()
          != caf::actor_cast<caf::strong_actor_ptr>(self->state.cfg.cluster))
        return; // only the connection manager arms
      self->state.cfg.peer_id = std::move(peer_id);
      self->state.cfg.reply_to = std::move(theirs);
      self->become(armed(self));
    },
  };
}

peer_ingress_actor::behavior_type
peer_ingress_behavior(self_ptr self, peer_ingress_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.log = log::get("cluster");
  self->monitor(st.cfg.cluster);
  if (st.cfg.data) // links that would hand batches to us close with us
    self->attach_functor(
      [data = st.cfg.data, id = self->id()] { data->close_owner(id); });
  // A message outside peer_actor (another Mesh version, or a program that
  // took the ingress for something else): refused in Mesh's words, never
  // CAF's "*** unexpected message" print.
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view&) -> caf::result<caf::message> {
      auto& st = static_cast<self_ptr>(ptr)->state;
      if (st.refused++ % 1000 < 3)
        st.log->warn("node {} refused a message peer {} may not send it "
                     "(another version of Mesh?) ({} so far)",
                     st.cfg.node_id,
                     st.cfg.peer_id.empty() ? "(pending)" : st.cfg.peer_id,
                     st.refused);
      return make_error(status_code::invalid_argument,
                        "node " + st.cfg.node_id
                          + " does not take this message from a peer "
                            "(another version of Mesh?)");
    });
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.cfg.cluster.address())
      self->quit(dm.reason);
  });
  if (st.cfg.peer_id.empty())
    return pending(self);
  return armed(self);
}

} // namespace

peer_ingress_actor spawn_peer_ingress(caf::actor_system& sys,
                                      peer_ingress_config cfg) {
  return sys.spawn(peer_ingress_behavior, std::move(cfg));
}

} // namespace mesh
