#pragma once

// peer_ingress: the door one authenticated peer has into this node.
//
// The connection manager spawns one per peer CAF node during the handshake
// and hands it to that peer (protocol/messaging/peer_actors.hpp). It accepts a message
// only when its sender is an actor of that peer's CAF node; anything else
// (a stranger who learned or guessed the handle, an anonymous send) is
// refused: `permission_denied` for requests, dropped and counted otherwise.
// Messages that name a node (heartbeats, announcements, routes, leave) must
// name the authenticated peer. Admitted messages go to the node's own actors
// with the ingress as their sender: those actors take messages from their
// own node only, and their handles never reach the peer (requests are asked
// and answered here, not delegated).
//
// An ingress the dialler spawns is handed over before the other side has
// proved itself: it stays *pending* (admits nothing, keeps what arrives)
// until the connection manager arms it with the peer's id, or kills it.
//
// Batches (issue 16): a ServeBatch goes to the router whole; it answers
// inline handlers and refusals at once and hands back the requests that need
// an executor, which go alone. The answers, tagged as the batch tagged them,
// collect in one outbox and
// leave as one ServeReplies to the peer's ingress for this node (the handle
// the connection manager arms us with) when the mailbox holds nothing more
// (a flush message to ourselves), or at a count or byte bound. A batch whose
// arrays differ in length is dropped. The peer's ServeReplies go to the
// router, which matches the tags to its attempts at that peer.
//
// The data plane (issue 16) hands over the batches that came on a data link
// the peer dialled (data_batch, only once armed); the answers go back on
// that link while it is open, else by BASP as above.
//
// The peer's connection manager asks (atom::dial) -> (port, token) when
// its link to our data port failed while the peer stayed up: a new one-use
// token for this ingress (port 0 and no token when this node has no data
// plane; overloaded when asked again within a second).
//
// Full interface: peer_actor, plus from the connection manager only:
//   (atom::connect, std::string peer_id, peer_actor theirs)  // arm: the peer
//        is authenticated; `theirs` is its ingress for us (replies go there)
// and from itself: (atom::flush)  // the reply outbox leaves
// It ends when the connection manager does.

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/data/data_messages.hpp"
#include "cluster/transport/data_plane.hpp"
#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "protocol/messaging/peer_actors.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh {

// Publish batches (peer_ingress_publish.hpp) are not in peer_actor (a
// change there rebuilds most of the tree): senders cast the peer's handle
// to this type.
using peer_ingress_actor
  = peer_actor::extend<caf::reacts_to<atom::connect, std::string, peer_actor>,
                       caf::reacts_to<atom::flush>,
                       caf::reacts_to<atom::batch, pb::PublishBatch>,
                       caf::reacts_to<atom::batch, pb::PublishReplies>,
                       caf::reacts_to<data_batch>,
                       caf::replies_to<atom::dial>::with<uint32_t, std::string>>;

/// When a batch leaves before the mailbox is empty: at this many entries,
/// or when the next one would take it past this many bytes (one larger
/// entry travels alone, bounded by the payload limit).
inline constexpr int batch_max_count = 256;
inline constexpr size_t batch_max_bytes = 256 * 1024;

struct peer_ingress_config {
  std::string node_id;   ///< this node (for error messages)
  caf::node_id peer_node; ///< admitted senders live on this CAF node
  std::string peer_id;   ///< empty: pending until armed
  peer_actor reply_to;   ///< the peer's ingress for us (set when armed)
  cluster_actor cluster;     ///< connection manager: arms it, owns it
  // Slots: the supervisor may restart these (actors/actor_slot.hpp).
  actor_slot<router_actor> router;
  actor_slot<strategies_actor> strategies; ///< may be empty
  actor_slot<topics_actor> topics;         ///< may be empty
  actor_slot<tasks_actor> tasks;           ///< may be empty
  /// This node's decision records, read for a peer's `trace` (null: none).
  trace_ring_ptr traces;
  /// The data plane whose links hand this ingress batches (null: none).
  std::shared_ptr<data_plane> data;
  /// Replies to the peer with a larger payload become `internal` errors: a
  /// message over the transport's limit would cut the connection
  /// (node/net/transport/guarded_transport.hpp). 0: no bound.
  size_t max_reply_bytes = 0;
  /// A batch of more requests goes to the router in chunks of this many,
  /// each chunk's answers leaving before the next is served (0: whole;
  /// peer_ingress_serve.hpp).
  int serve_chunk = 0;
  /// Chunks only while the peer's batches do not come from the CPU that
  /// serves them (cpu_share.hpp); false: always.
  bool serve_chunk_adaptive = true;
};

peer_ingress_actor spawn_peer_ingress(caf::actor_system& sys,
                                      peer_ingress_config cfg);

} // namespace mesh
