#include "actors/cluster/ingress/peer_ingress_publish.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "protocol/status.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/redact.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh {

namespace {

// A part that could not run here, as the origin shows it: this node's
// publish_failed, with the reason.
pb::PublishResponse failed_part(const std::string& node,
                                const std::string& why) {
  pb::PublishResponse r;
  r.set_status(to_string(dispatch_status::publish_failed));
  auto* o = r.add_dispatchers();
  o->set_node_id(node);
  o->set_status(to_string(dispatch_status::publish_failed));
  o->set_error("node " + node + ": " + redact_secrets(why));
  return r;
}

void queue_answer(peer_ingress_actor::pointer self,
                  const peer_ingress_config& cfg, ingress_publishes& st,
                  uint64_t tag, pb::PublishResponse&& r) {
  auto size = r.ByteSizeLong() + 16;
  // A reply over the transport's limit would cut the connection.
  if (cfg.max_reply_bytes > 0 && size > cfg.max_reply_bytes) {
    r = failed_part(cfg.node_id,
                    "the publish answer is " + std::to_string(size)
                      + " bytes, above limits.max_payload_bytes ("
                      + std::to_string(cfg.max_reply_bytes) + ")");
    size = r.ByteSizeLong() + 16;
  }
  // One transport message stays within its bound: a large answer leaves
  // what waits first, then travels alone.
  if (st.replies.tags_size() > 0 && st.bytes + size > batch_max_bytes)
    flush_publish_replies(self, cfg, st);
  *st.replies.add_responses() = std::move(r);
  st.replies.add_tags(tag);
  st.bytes += size;
  if (st.replies.tags_size() >= batch_max_count || self->mailbox().empty()) {
    flush_publish_replies(self, cfg, st); // full, or nothing to batch with
  } else if (!st.flush_pending) {
    // Behind everything already in the mailbox: answers that complete
    // together leave together, and a lone one is not held back.
    st.flush_pending = true;
    self->send(self, atom::flush_v);
  }
}

} // namespace

void serve_publish_batch(peer_ingress_actor::pointer self,
                         const peer_ingress_config& cfg, ingress_publishes& st,
                         spdlog::logger& log, pb::PublishBatch& b) {
  if (b.requests_size() != b.tags_size()) {
    if (st.dropped++ % 1000 < 3)
      log.warn("peer {} sent a batch of {} publishes with {} tags: dropped",
               cfg.peer_id, b.requests_size(), b.tags_size());
    return;
  }
  auto topics = cfg.topics.get();
  for (int i = 0; i < b.requests_size(); ++i) {
    auto tag = b.tags(i);
    if (!topics) {
      queue_answer(self, cfg, st, tag,
                   failed_part(cfg.node_id, "no topic dispatcher here"));
      continue;
    }
    auto& req = *b.mutable_requests(i);
    req.set_local_only(true); // a peer runs this node's dispatchers only
    self->request(topics, caf::infinite, atom::publish_v, std::move(req))
      .then(
        [self, &cfg, &st, tag](pb::PublishResponse& r) {
          queue_answer(self, cfg, st, tag, std::move(r));
        },
        [self, &cfg, &st, tag](caf::error& err) {
          // The topic dispatcher could not answer (restarting, gone).
          queue_answer(self, cfg, st, tag,
                       failed_part(cfg.node_id, error_text(err)));
        });
  }
}

void pass_on_publish_replies(peer_ingress_actor::pointer self,
                             const peer_ingress_config& cfg,
                             ingress_publishes& st, spdlog::logger& log,
                             pb::PublishReplies& r) {
  if (r.responses_size() != r.tags_size()) {
    if (st.dropped++ % 1000 < 3)
      log.warn("peer {} sent {} publish answers with {} tags: dropped",
               cfg.peer_id, r.responses_size(), r.tags_size());
    return;
  }
  // The topic dispatcher checks each tag names a part at this very peer.
  if (auto topics = cfg.topics.get())
    self->send(topics, atom::batch_v, cfg.peer_id, std::move(r));
}

void flush_publish_replies(peer_ingress_actor::pointer self,
                           const peer_ingress_config& cfg,
                           ingress_publishes& st) {
  st.flush_pending = false;
  if (st.replies.tags_size() == 0)
    return;
  // Without the peer's ingress (only a test arms one so) the answers are
  // dropped: the origin's deadlines answer its callers.
  if (cfg.reply_to)
    self->send(caf::actor_cast<peer_ingress_actor>(cfg.reply_to),
               atom::batch_v, std::move(st.replies));
  st.replies = pb::PublishReplies{};
  st.bytes = 0;
}

} // namespace mesh
