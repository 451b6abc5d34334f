#pragma once

// connection_manager: this node's view of the cluster.
//
// Reached by peers only through the gate (its hellos) and through the
// ingress it spawns for each authenticated peer (actors/cluster/). Runs the
// Connect handshake in both directions (either side can route over the
// result), learns every member
// from its peers' member lists and connects to them (discovery), sends and
// checks heartbeats (failure detection), re-dials peers it dialled with
// exponential backoff and jitter, and tells peers when this node leaves.
// Every change is pushed to the router as an immutable peer_table; what this
// node serves (from the registry) is announced to every peer.
//
// Protocol (cluster_actor below):
//  from the gate (a dialler's hello, with the CAF node it came from):
//   (atom::hello, pb::ConnectRequest, peer_actor, caf::node_id)
//        -> (pb::ConnectResponse, peer_actor)   // our ingress for the peer
//        errors: invalid_argument (itself, bad version), permission_denied
//        (cluster secret), unavailable (leaving)
//  from a peer's ingress (checked: the authenticated peer, in its name):
//   (atom::heartbeat, pb::Heartbeat)
//   (atom::announce, pb::ServiceAnnouncement)
//   (atom::leave, pb::Leave)
//   (atom::remove, pb::Leave)  // the peer's operator removed node_id: forget
//                              // it too (membership/connection_removal.cpp)
//  from the node, console and registry:
//   (atom::update, std::string listen_address)  // start: address known
//   (atom::update, handler_table_ptr)           // what this node serves
//   (atom::subscribe, caf::actor)               // gets (atom::update, peer_table_ptr)
//   (atom::connect, std::string address) -> nlohmann::json  // meshctl connect
//   (atom::leave)                        -> caf::ok_atom    // graceful leave
//   (atom::remove, std::string node_id)  -> caf::ok_atom    // forget a down
//        peer, on every node: up peers are told to forget it too
//   (atom::peers, nlohmann::json in_flight) -> nlohmann::json
//   (atom::stats)                        -> nlohmann::json  // cluster size
//   (atom::trace, std::string id)        -> nlohmann::json  // console `trace`:
//        {"trace_id", "records" (every node's, by time), "nodes_asked",
//        "nodes_missing"}; not_found when no node has a record of it
//  own timers: (atom::tick), (atom::dial, std::string address)

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_slot.hpp"
#include "cluster/transport/data_plane.hpp"
#include "actors/cluster/membership/peer_directory.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/handlers/handler_table.hpp"
#include "actors/routing/registry/registry.hpp"
#include "protocol/messaging/local_types.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh {

/// The connection manager's interface: what the gate, the ingresses, the
/// node, the console and the registry may send it (never the network).
using cluster_actor = caf::typed_actor<
  caf::replies_to<atom::hello, pb::ConnectRequest, peer_actor,
                  caf::node_id>::with<pb::ConnectResponse, peer_actor>,
  caf::reacts_to<atom::heartbeat, pb::Heartbeat>,
  caf::reacts_to<atom::announce, pb::ServiceAnnouncement>,
  caf::reacts_to<atom::leave, pb::Leave>,
  caf::reacts_to<atom::remove, pb::Leave>,
  caf::reacts_to<atom::update, std::string>,
  caf::reacts_to<atom::update, handler_table_ptr>,
  caf::reacts_to<atom::subscribe, caf::actor>,
  caf::replies_to<atom::connect, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::leave>::with<caf::ok_atom>,
  caf::replies_to<atom::remove, std::string>::with<caf::ok_atom>,
  caf::replies_to<atom::peers, nlohmann::json>::with<nlohmann::json>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  caf::replies_to<atom::trace, std::string>::with<nlohmann::json>,
  caf::reacts_to<atom::tick>,             // own timer
  caf::reacts_to<atom::dial, std::string>>; // own timer

/// What a restarted connection manager starts from (the supervisor keeps
/// it): its listen address, and the peers it knew, which it dials again.
struct connection_manager_memory {
  std::string listen_address;
  std::set<std::string> peer_addresses;
};

struct connection_manager_config {
  std::string node_id;
  std::string incarnation; ///< random per process start
  std::string secret;      ///< cluster secret; empty = none
  std::vector<std::string> seeds;
  cluster_timing timing;   ///< heartbeat_interval 0 disables the timer
  std::chrono::milliseconds connect_timeout{5000};
  bool tls = false; ///< peers speak mutual TLS
  /// What dials peers (node/net/transport/tls_transport.hpp for TLS);
  /// null: the middleman's own.
  caf::io::middleman_actor transport;
  actor_slot<registry_actor> registry;
  // Slots: the supervisor may restart these; ingresses reach the current one.
  actor_slot<router_actor> router;
  actor_slot<strategies_actor> strategies; ///< offered to peers (may be empty)
  actor_slot<topics_actor> topics;         ///< offered to peers (may be empty)
  actor_slot<tasks_actor> tasks;           ///< task heartbeats (may be empty)
  /// Get (atom::update, peer_table_ptr) on every change, like the router.
  std::vector<caf::actor> subscribers;
  /// Bound on reply payloads to peers (limits.max_payload_bytes; 0: none).
  size_t max_reply_bytes = 0;
  /// Peers' batches larger than this are served in chunks of it
  /// (cluster.serve_chunk; 0: whole; peer_ingress_serve.hpp); adaptive:
  /// only while the peer does not send from the serving CPU.
  int serve_chunk = 0;
  bool serve_chunk_adaptive = true;
  /// Kept across restarts; null: nothing is kept.
  std::shared_ptr<connection_manager_memory> memory;
  /// This node's decision records: answered to peers by the ingresses and
  /// gathered with theirs for `trace` (null: this node keeps none).
  trace_ring_ptr traces;
  /// Links beside BASP, set up in the handshake (null: none; issue 16).
  std::shared_ptr<data_plane> data;
};

/// How long `trace` waits for each peer's records.
inline constexpr auto trace_gather_timeout = std::chrono::milliseconds{1500};

cluster_actor spawn_connection_manager(caf::actor_system& sys,
                                       connection_manager_config cfg);

} // namespace mesh
