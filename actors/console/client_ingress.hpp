#pragma once

// client_ingress: the door of binary clients (meshbench, programs of users)
// to a node's router, handed out by the console once a client has shown
// the console token. It admits pb::DispatchRequest from the CAF nodes the
// console has let in (from anyone when the node has no token) and delegates
// it to the router; everything else is refused with `permission_denied`.
//
// Protocol (client_ingress_actor below):
//   (pb::DispatchRequest) -> pb::DispatchResponse   // admitted clients
//   (atom::add, caf::node_id)                        // console: admit a node

#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include "actors/actor_slot.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/peer_actors.hpp"

namespace mesh {

using client_ingress_actor
  = client_actor::extend<caf::reacts_to<atom::add, caf::node_id>>;

/// `open`: no console token is configured, every client is admitted.
client_ingress_actor
spawn_client_ingress(caf::actor_system& sys, std::string node_id,
                                actor_slot<router_actor> router, caf::actor console,
                                bool open);

} // namespace mesh
