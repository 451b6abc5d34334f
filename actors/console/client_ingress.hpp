#pragma once

// client_ingress: the door of binary clients (meshbench, programs of users)
// to a node's router, handed out by the console once a client has shown
// the console token. It admits requests from the CAF nodes the console has
// let in (from anyone when the node has no token) and delegates each to the
// router; everything else is refused with `permission_denied`.
//
// A batch saves the client leg one BASP message per request each way: the
// requests of a DispatchBatch run through the router one by one (each is
// routed, retried and answered as a single request would be), and their
// answers go back to the batch's sender as `(atom::batch, DispatchReplies)`
// as they complete. Answers that complete in the same activation of this
// actor travel together: the first answer queued sends this actor a flush
// message, so whatever is already in its mailbox is answered first and a
// lone answer is never held back (also flushed at kMaxRepliesPerMessage).
// Every request gets exactly one answer, its tag echoed:
//   - unadmitted sender: every tag answered `permission_denied`;
//   - requests_size() != tags_size(): nothing runs; every tag is answered
//     `invalid_argument` (a request without a tag cannot be named, so the
//     tags are what the client waits on); no tags: dropped with a warning;
//   - anonymous sender (nobody to answer): dropped with a warning.
// Tags are the client's: echoed as they are, never interpreted.
//
// Protocol (client_ingress_actor below):
//   (pb::DispatchRequest) -> pb::DispatchResponse   // admitted clients
//   (atom::batch, pb::DispatchBatch)                 // answered by
//        (atom::batch, pb::DispatchReplies) sent to the batch's sender
//   (atom::add, caf::node_id)                        // console: admit a node
//   (atom::flush)                                    // itself: send answers

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include "actors/actor_slot.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/messaging/peer_actors.hpp"

namespace mesh {

using client_ingress_actor
  = client_actor::extend<caf::reacts_to<atom::add, caf::node_id>,
                         caf::reacts_to<atom::flush>>;

/// Answers to one client are sent at once when this many are waiting.
inline constexpr int kMaxRepliesPerMessage = 256;
/// ... and at most about this many payload bytes (one large answer alone).
inline constexpr size_t kMaxReplyBytesPerMessage = 256 * 1024;

/// `open`: no console token is configured, every client is admitted.
client_ingress_actor
spawn_client_ingress(caf::actor_system& sys, std::string node_id,
                                actor_slot<router_actor> router, caf::actor console,
                                bool open);

} // namespace mesh
