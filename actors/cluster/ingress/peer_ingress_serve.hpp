#pragma once

// The serve batches of a peer's ingress (issue 16; peer_ingress.cpp calls
// these, its state holds an ingress_serves).
//
// A ServeBatch from the authenticated peer goes to this node's router
// whole: it answers inline handlers and refusals at once and hands back the
// requests that need an executor, which go alone. The answers, tagged as
// the batch tagged them, collect in one ServeReplies that leaves for the
// peer's ingress for this node when the mailbox holds nothing more (the
// ingress's own flush message), or at a count or byte bound. Every tag is
// answered exactly once, also when the router fails. A batch whose arrays
// differ in length is dropped whole (its origin's deadlines answer).
//
// With a chunk size (peer_ingress_config::serve_chunk), a larger batch goes
// to the router in chunks, one at a time: each chunk's answers leave before
// the next chunk is served, so the peer works on them while this node
// serves the rest. Whole, both nodes took turns, each idle while the other
// worked; in chunks they overlap when they run on CPUs of their own (two
// machines, or processes pinned apart), at the price of a frame more per
// chunk when they share one CPU (BENCHMARKS.md). So, adaptive (the
// default), batches are cut only while the peer's batches do not come from
// the CPU that serves them (cpu_share.hpp). Batches that arrive while
// chunks wait queue behind them.

#include <cstddef>
#include <cstdint>
#include <deque>

#include <spdlog/fwd.h>

#include "actors/cluster/ingress/cpu_share.hpp"
#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/cluster/ingress/reply_outbox.hpp"

namespace mesh {

/// A chunk of a peer's batch waiting for the router, and the data link the
/// batch came on (null: BASP).
struct queued_chunk {
  pb::ServeBatch batch;
  data_link_ptr link;
};

/// What an ingress keeps for its peer's serve batches.
struct ingress_serves : reply_outbox<pb::ServeReplies> {
  uint64_t dropped = 0;       ///< malformed batches
  uint64_t no_way_back = 0;   ///< answer sets dropped for want of reply_to
  /// The data link the peer's last batch came on: answers go back on it
  /// while it is open, else by BASP (data_plane.hpp).
  data_link_ptr link;
  std::deque<queued_chunk> chunks; ///< waiting for the router, in order
  bool chunk_out = false;          ///< a chunk is with the router
  cpu_share_gauge cpu;             ///< whether the peer shares our CPU
};

/// Cuts a handler's answer that is above the payload limit down to an
/// `internal` status naming this node (a peer must never get a reply the
/// transport would cut the connection for).
void bound_reply(pb::ServeResponse& r, size_t max, const std::string& node);

void serve_batch(peer_ingress_actor::pointer self,
                 const peer_ingress_config& cfg, ingress_serves& st,
                 spdlog::logger& log, pb::ServeBatch& b);

/// Sends the waiting answers to the peer's ingress for this node.
void flush_serve_replies(peer_ingress_actor::pointer self,
                         const peer_ingress_config& cfg, ingress_serves& st,
                         spdlog::logger& log);

} // namespace mesh
