#include "actors/cluster/peer_ingress.hpp"
#include "actors/cluster/peer_ingress_publish.hpp"

#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "protocol/status.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

void bound_reply(pb::ServeResponse& r, size_t max, const std::string& node) {
  auto size = r.payload().ByteSizeLong();
  if (max == 0 || size <= max)
    return;
  r.clear_payload();
  r.mutable_status()->set_code(pb::INTERNAL);
  r.mutable_status()->set_message(
    "the reply from node " + node + " is " + std::to_string(size)
    + " bytes, above limits.max_payload_bytes (" + std::to_string(max)
    + "): a handler must not answer more than a request may carry");
}

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
  static inline const char* name = "mesh.peer_ingress";
  peer_ingress_config cfg;
  std::shared_ptr<spdlog::logger> log;
  uint64_t refused = 0;
  uint64_t no_way_back = 0; ///< reply batches dropped for want of reply_to
  // Answers to the peer's batches, waiting for the flush.
  pb::ServeReplies replies;
  size_t reply_bytes = 0;
  bool flush_pending = false;
  uint64_t dropped_batches = 0;
  ingress_publishes publishes; // peer_ingress_publish.cpp
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

void flush_replies(self_ptr self) {
  auto& st = self->state;
  if (st.replies.tags_size() == 0)
    return;
  if (st.cfg.reply_to)
    self->send(st.cfg.reply_to, atom::batch_v, std::move(st.replies));
  else if (st.no_way_back++ % 1000 == 0)
    // Armed without the peer's ingress (only a test builds one so: the
    // handshake refuses a peer without it); the origin's deadline answers.
    st.log->warn("node {} has no way back to peer {}: {} answers dropped",
                 st.cfg.node_id, st.cfg.peer_id, st.replies.tags_size());
  st.replies = pb::ServeReplies{};
  st.reply_bytes = 0;
}

// Adds one answer to the outbox; leaves what waits first when the answer
// would take the message past its byte bound, and leaves at the count
// bound. send_or_schedule() decides about the rest.
void add_reply(self_ptr self, uint64_t tag, pb::ServeResponse&& r) {
  auto& st = self->state;
  bound_reply(r, st.cfg.max_reply_bytes, st.cfg.node_id);
  auto size = r.payload().ByteSizeLong() + 64;
  // One transport message stays within its bound: a large answer leaves
  // what waits first, then travels alone.
  if (st.replies.tags_size() > 0 && st.reply_bytes + size > batch_max_bytes)
    flush_replies(self);
  *st.replies.add_responses() = std::move(r);
  st.replies.add_tags(tag);
  st.reply_bytes += size;
  if (st.replies.tags_size() >= batch_max_count)
    flush_replies(self);
}

void send_or_schedule(self_ptr self) {
  auto& st = self->state;
  if (st.replies.tags_size() == 0)
    return;
  if (self->mailbox().empty()) {
    flush_replies(self); // nothing else to batch with
  } else if (!st.flush_pending) {
    // Behind everything already in the mailbox: answers that complete
    // together leave together, and a lone one is not held back.
    st.flush_pending = true;
    self->send(self, atom::flush_v);
  }
}

void queue_reply(self_ptr self, uint64_t tag, pb::ServeResponse&& r) {
  add_reply(self, tag, std::move(r));
  send_or_schedule(self);
}

// The answer to a request the router could not answer (restarting, gone):
// said in Mesh's words, naming this node, so only a policy that retries
// the status sends it elsewhere.
pb::ServeResponse router_failure(self_ptr self, const caf::error& err) {
  pb::ServeResponse r;
  r.mutable_status()->set_code(
    static_cast<pb::StatusCode>(to_status_code(err)));
  r.mutable_status()->set_message("node " + self->state.cfg.node_id
                                  + " failed while handling the request: "
                                  + error_text(err));
  r.set_executor_id(self->state.cfg.node_id);
  return r;
}

// One request alone through the router (a blocking handler's: it answers
// when its executor does).
void serve_one(self_ptr self, uint64_t tag, pb::ServeRequest&& req) {
  self->request(self->state.cfg.router.get(), caf::infinite, std::move(req))
    .then(
      [self, tag](pb::ServeResponse& r) { queue_reply(self, tag, std::move(r)); },
      [self, tag](caf::error& err) {
        queue_reply(self, tag, router_failure(self, err));
      });
}

// The router's answer to a whole batch: the answers it had at once, and the
// requests that need an executor, each sent on alone. Every tag of the
// batch is in exactly one of the two; one that is in neither (never, unless
// the router is broken) is answered `internal` here, so nothing waits for
// its deadline.
void batch_served(self_ptr self, const std::vector<uint64_t>& tags,
                  pb::ServeReplies& done, pb::ServeBatch& rest) {
  auto& st = self->state;
  bool whole = done.tags_size() == done.responses_size()
               && rest.tags_size() == rest.requests_size()
               && static_cast<size_t>(done.tags_size() + rest.tags_size())
                    == tags.size();
  if (!whole) {
    st.log->error("node {}: the router answered a batch of {} with {} + {} "
                  "entries",
                  st.cfg.node_id, tags.size(), done.tags_size(),
                  rest.tags_size());
    auto err = make_error(status_code::internal,
                          "the router lost track of a batch");
    for (auto tag : tags)
      add_reply(self, tag, router_failure(self, err));
    send_or_schedule(self);
    return;
  }
  for (int i = 0; i < done.tags_size(); ++i)
    add_reply(self, done.tags(i), std::move(*done.mutable_responses(i)));
  send_or_schedule(self);
  for (int i = 0; i < rest.tags_size(); ++i)
    serve_one(self, rest.tags(i), std::move(*rest.mutable_requests(i)));
}

void serve_batch(self_ptr self, pb::ServeBatch& b) {
  auto& st = self->state;
  if (b.requests_size() != b.tags_size()) {
    if (st.dropped_batches++ % 1000 < 3)
      st.log->warn("peer {} sent a batch of {} requests with {} tags: dropped",
                   st.cfg.peer_id, b.requests_size(), b.tags_size());
    return;
  }
  if (b.tags_size() == 0)
    return;
  // The whole batch in one message: the router answers what it can at once
  // (router_serve_batch.cpp). The tags stay here, so a router that fails
  // still gets every request answered.
  auto tags = std::make_shared<const std::vector<uint64_t>>(b.tags().begin(),
                                                           b.tags().end());
  self
    ->request(st.cfg.router.get(), caf::infinite, atom::batch_v, std::move(b))
    .then(
      [self, tags](pb::ServeReplies& done, pb::ServeBatch& rest) {
        batch_served(self, *tags, done, rest);
      },
      [self, tags](caf::error& err) {
        for (auto tag : *tags)
          add_reply(self, tag, router_failure(self, err));
        send_or_schedule(self);
      });
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
      if (admitted(self))
        serve_batch(self, b);
    },
    [self](atom::batch, pb::ServeReplies& r) {
      auto& st = self->state;
      if (!admitted(self))
        return;
      if (r.responses_size() != r.tags_size()) {
        if (st.dropped_batches++ % 1000 < 3)
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
      self->state.flush_pending = false;
      flush_replies(self);
      flush_publish_replies(self, self->state.cfg, self->state.publishes);
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
