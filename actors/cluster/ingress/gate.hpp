#pragma once

// gate: the only actor published on a node's peer port.
//
// It answers the Connect handshake and nothing else: a hello goes to the
// connection manager together with the CAF node it came from (which the
// peer's ingress will admit), and every other message is refused
// (`permission_denied` for a request, dropped and counted otherwise), so a
// stranger who reaches the port learns no handle and changes nothing.
// Protocol: gate_actor (protocol/messaging/peer_actors.hpp). It reaches the
// connection manager through its slot, so it outlives a restart of it.

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/connection_manager.hpp"
#include "protocol/messaging/peer_actors.hpp"

namespace mesh {

gate_actor spawn_gate(caf::actor_system& sys, std::string node_id,
                      actor_slot<cluster_actor> cluster);

} // namespace mesh
