#pragma once

// The node's own actors (connection manager, router, registry, evaluator,
// topic dispatcher, executors) take messages only from actors of this node.
// The network reaches them only through the gate and the per-peer ingresses
// (actors/cluster/), which ask them as local requesters; yet a program that
// reaches a port and guesses an actor id could address them directly (CAF
// delivers to any actor whose handle ever crossed the network). Every
// handler whose arguments could be sent over the network starts with this
// check. (Messages carrying local-only types, such as the routing tables,
// cannot be deserialized from the network and need none.)

#include <algorithm>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>

#include "protocol/status.hpp"

namespace mesh {

/// True when the message being handled was sent by an actor of this node.
template <class Self>
bool from_this_node(Self* self) {
  const auto& src = self->current_sender();
  return src != nullptr && src->node() == self->node();
}

/// Removes `who` from `xs`; true if it was there (a subscriber that died:
/// restarted actors must not leave their predecessors behind).
inline bool erase_actor(std::vector<caf::actor>& xs, const caf::actor_addr& who) {
  auto before = xs.size();
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [&](const caf::actor& a) { return a.address() == who; }),
           xs.end());
  return xs.size() != before;
}

/// The refusal of a request that came from elsewhere.
inline caf::error refused_remote() {
  return make_error(status_code::permission_denied,
                    "this actor takes requests from its own node only");
}

} // namespace mesh
