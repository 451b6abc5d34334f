#include "actors/cluster/ingress/peer_ingress_publish.hpp"

#include <memory>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
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

// Adds an answer to the outbox (reply_outbox.hpp); an answer above the
// payload limit becomes a publish_failed part.
void add_answer(peer_ingress_actor::pointer self,
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
  st.add(tag, std::move(r), size,
         [&] { flush_publish_replies(self, cfg, st); });
}

void send_or_schedule(peer_ingress_actor::pointer self,
                      const peer_ingress_config& cfg, ingress_publishes& st) {
  st.send_or_schedule(self, [&] { flush_publish_replies(self, cfg, st); });
}

void queue_answer(peer_ingress_actor::pointer self,
                  const peer_ingress_config& cfg, ingress_publishes& st,
                  uint64_t tag, pb::PublishResponse&& r) {
  add_answer(self, cfg, st, tag, std::move(r));
  send_or_schedule(self, cfg, st);
}

// A publish that waits on a dispatcher of this node goes alone.
void serve_one(peer_ingress_actor::pointer self, const peer_ingress_config& cfg,
               ingress_publishes& st, const topics_actor& topics,
               uint64_t tag, pb::PublishRequest&& req) {
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

void fail_all(peer_ingress_actor::pointer self, const peer_ingress_config& cfg,
              ingress_publishes& st, const std::vector<uint64_t>& tags,
              const std::string& why) {
  for (auto tag : tags)
    add_answer(self, cfg, st, tag, failed_part(cfg.node_id, why));
  send_or_schedule(self, cfg, st);
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
  if (b.tags_size() == 0)
    return;
  // The tags stay here, so a topic dispatcher that fails still gets every
  // part answered.
  auto tags = std::make_shared<const std::vector<uint64_t>>(b.tags().begin(),
                                                           b.tags().end());
  auto topics = cfg.topics.get();
  if (!topics) {
    fail_all(self, cfg, st, *tags, "no topic dispatcher here");
    return;
  }
  // The whole batch in one message: the topic dispatcher answers at once
  // what runs at once (record dispatchers, refusals) and hands back the
  // publishes that wait on a dispatcher, which go one by one.
  self->request(topics, caf::infinite, atom::batch_v, std::move(b))
    .then(
      [self, &cfg, &st, &log, tags, topics](pb::PublishReplies& done,
                                            pb::PublishBatch& rest) {
        bool whole = done.tags_size() == done.responses_size()
                     && rest.tags_size() == rest.requests_size()
                     && static_cast<size_t>(done.tags_size()
                                            + rest.tags_size())
                          == tags->size();
        if (!whole) {
          log.error("node {}: the topic dispatcher answered a batch of {} "
                    "with {} + {} entries",
                    cfg.node_id, tags->size(), done.tags_size(),
                    rest.tags_size());
          fail_all(self, cfg, st, *tags,
                   "the topic dispatcher lost track of a batch");
          return;
        }
        for (int i = 0; i < done.tags_size(); ++i)
          add_answer(self, cfg, st, done.tags(i),
                     std::move(*done.mutable_responses(i)));
        send_or_schedule(self, cfg, st);
        for (int i = 0; i < rest.tags_size(); ++i)
          serve_one(self, cfg, st, topics, rest.tags(i),
                    std::move(*rest.mutable_requests(i)));
      },
      [self, &cfg, &st, tags](caf::error& err) {
        // The topic dispatcher could not answer (restarting, gone).
        fail_all(self, cfg, st, *tags, error_text(err));
      });
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
  auto replies = st.take();
  if (cfg.reply_to)
    self->send(caf::actor_cast<peer_ingress_actor>(cfg.reply_to),
               atom::batch_v, std::move(replies));
}

} // namespace mesh
