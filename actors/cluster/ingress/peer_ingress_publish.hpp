#pragma once

// The publish batches of a peer's ingress (issue 16; peer_ingress.cpp calls
// these, its state holds an ingress_publishes).
//
// A PublishBatch from the authenticated peer goes whole to this node's
// topic dispatcher, as local-only publishes (a peer runs only this node's
// dispatchers here): it answers at once those that run at once and hands
// back the ones that wait on a dispatcher, which go one by one. The
// answers, tagged as the batch tagged them, collect in one PublishReplies
// that leaves for the peer's ingress for this node when the mailbox holds
// nothing more (the ingress's own flush message), or at a count or byte
// bound. Every tag is answered exactly
// once: an error becomes a publish_failed answer in Mesh's words. A batch
// whose arrays differ in length is dropped whole (its origin's deadlines
// answer). The peer's PublishReplies go to the topic dispatcher in the
// peer's name, which matches the tags to its own parts at that peer.

#include <cstdint>

#include <spdlog/fwd.h>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/cluster/ingress/reply_outbox.hpp"

namespace mesh {

/// What an ingress keeps for its peer's publish batches.
struct ingress_publishes : reply_outbox<pb::PublishReplies> {
  uint64_t dropped = 0; ///< malformed batches and answer sets
};

void serve_publish_batch(peer_ingress_actor::pointer self,
                         const peer_ingress_config& cfg, ingress_publishes& st,
                         spdlog::logger& log, pb::PublishBatch& b);

void pass_on_publish_replies(peer_ingress_actor::pointer self,
                             const peer_ingress_config& cfg,
                             ingress_publishes& st, spdlog::logger& log,
                             pb::PublishReplies& r);

/// Sends the waiting answers to the peer's ingress for this node.
void flush_publish_replies(peer_ingress_actor::pointer self,
                           const peer_ingress_config& cfg,
                           ingress_publishes& st);

} // namespace mesh
