#pragma once

// connection_manager: this node's view of the cluster.
//
// Published on the node's listen port. Runs the Connect handshake in both
// directions (either side can route over the result), learns every member
// from its peers' member lists and connects to them (discovery), sends and
// checks heartbeats (failure detection), re-dials peers it dialled with
// exponential backoff and jitter, and tells peers when this node leaves.
// Every change is pushed to the router as an immutable peer_table; what this
// node serves (from the registry) is announced to every peer.
//
// Protocol (dynamically typed actor):
//  from peers:
//   (atom::hello, pb::ConnectRequest, peer_actors)
//        -> (pb::ConnectResponse, peer_actors)
//        errors: invalid_argument (itself, bad version), permission_denied
//        (cluster secret), unavailable (leaving)
//   (atom::heartbeat, pb::Heartbeat)
//   (atom::announce, pb::ServiceAnnouncement)
//   (atom::leave, pb::Leave)
//  from the node, console and registry:
//   (atom::update, std::string listen_address)  // start: address known
//   (atom::update, handler_table_ptr)           // what this node serves
//   (atom::subscribe, caf::actor)               // gets (atom::update, peer_table_ptr)
//   (atom::connect, std::string address) -> nlohmann::json  // meshctl connect
//   (atom::leave)                        -> caf::ok_atom    // graceful leave
//   (atom::remove, std::string node_id)  -> caf::ok_atom    // forget a down peer
//   (atom::peers, nlohmann::json in_flight) -> nlohmann::json
//   (atom::stats)                        -> nlohmann::json  // cluster size
//  own timers: (atom::tick), (atom::dial, std::string address)

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/peer_directory.hpp"

namespace mesh {

struct connection_manager_config {
  std::string node_id;
  std::string incarnation; ///< random per process start
  std::string secret;      ///< cluster secret; empty = none
  std::vector<std::string> seeds;
  cluster_timing timing;   ///< heartbeat_interval 0 disables the timer
  std::chrono::milliseconds connect_timeout{5000};
  caf::actor registry;
  caf::actor router;
  caf::actor strategies; ///< offered to peers (may be null)
  caf::actor topics;     ///< offered to peers (may be null)
};

caf::actor spawn_connection_manager(caf::actor_system& sys,
                                    connection_manager_config cfg);

} // namespace mesh
