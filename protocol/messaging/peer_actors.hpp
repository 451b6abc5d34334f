#pragma once

// The typed interfaces one node offers the network, and nothing more.
//
// gate_actor is the only actor published on a node's peer port: it answers
// the Connect handshake and refuses everything else. A handshake that
// passes (protocol version, cluster secret, identity) yields a peer_actor:
// an ingress spawned for that one peer, which accepts messages only from
// the CAF node the handshake came from and forwards them to the node's own
// actors. The handles of the router, evaluator, topic dispatcher and
// connection manager never leave the node. Crosses the network; registered
// in type_ids.hpp.
//
//   gate_actor:
//     (atom::hello, pb::ConnectRequest, peer_actor dialler_ingress)
//        -> (pb::ConnectResponse, peer_actor acceptor_ingress)
//        errors: invalid_argument (itself, bad version), permission_denied
//        (cluster secret, anonymous sender), unavailable (leaving)
//   peer_actor (one per authenticated peer, both directions):
//     (atom::heartbeat, pb::Heartbeat)              // connection manager
//     (atom::announce, pb::ServiceAnnouncement)     // connection manager
//     (atom::leave, pb::Leave)                      // connection manager
//     (atom::remove, pb::Leave)  // connection manager: an operator removed
//          node_id on the sender; forget it too (`meshctl remove`)
//     (pb::ServeRequest) -> pb::ServeResponse       // request router
//     (atom::batch, pb::ServeBatch)   // request router: many Serve requests,
//          each with a tag; answered by one or more ServeReplies sent to the
//          sender node's ingress for this node (not to the sender)
//     (atom::batch, pb::ServeReplies) // a peer's ingress: answers to our
//          batches, by tag, passed on to the request router
//     (atom::publish, pb::PublishRequest) -> pb::PublishResponse // topics
//     (atom::routes, pb::TopicRoutes)               // topic dispatcher
//     (atom::evidence, pb::BanditEvidence)          // strategy evaluator
//     (atom::heartbeat, pb::TaskHeartbeat)          // a task's lease (router)
//     (atom::trace, std::string trace_id) -> std::string // the peer's
//          decision records of that trace: a JSON array (console `trace`)
//   client_actor (the console's door for binary clients, after the token):
//     (pb::DispatchRequest) -> pb::DispatchResponse
//     (atom::batch, pb::DispatchBatch)  // many requests, each with a tag;
//          answered by one or more (atom::batch, pb::DispatchReplies) sent
//          to the batch's sender (actors/console/client_ingress.hpp)

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "protocol/messaging/atoms.hpp"
#include "protocol/messaging/proto_inspect.hpp"

CAF_PUSH_WARNINGS
#include "protocol/mesh.pb.h"
CAF_POP_WARNINGS

namespace mesh {

using peer_actor = caf::typed_actor<
  caf::reacts_to<atom::heartbeat, pb::Heartbeat>,
  caf::reacts_to<atom::announce, pb::ServiceAnnouncement>,
  caf::reacts_to<atom::leave, pb::Leave>,
  caf::reacts_to<atom::remove, pb::Leave>,
  caf::replies_to<pb::ServeRequest>::with<pb::ServeResponse>,
  caf::reacts_to<atom::batch, pb::ServeBatch>,
  caf::reacts_to<atom::batch, pb::ServeReplies>,
  caf::replies_to<atom::publish, pb::PublishRequest>::with<pb::PublishResponse>,
  caf::reacts_to<atom::routes, pb::TopicRoutes>,
  caf::reacts_to<atom::evidence, pb::BanditEvidence>,
  caf::reacts_to<atom::heartbeat, pb::TaskHeartbeat>,
  caf::replies_to<atom::trace, std::string>::with<std::string>>;

using gate_actor = caf::typed_actor<
  caf::replies_to<atom::hello, pb::ConnectRequest, peer_actor>::with<
    pb::ConnectResponse, peer_actor>>;

using client_actor = caf::typed_actor<
  caf::replies_to<pb::DispatchRequest>::with<pb::DispatchResponse>,
  caf::reacts_to<atom::batch, pb::DispatchBatch>>;

} // namespace mesh
