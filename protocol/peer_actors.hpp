#pragma once

// The actors one node offers its peers, exchanged in the Connect handshake
// so that later messages go straight to the right actor (as Broker's cores
// exchange their handles). Crosses the network; registered in type_ids.hpp.

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

namespace mesh {

struct peer_actors {
  caf::actor manager;    ///< connection_manager: membership, heartbeats
  caf::actor router;     ///< request_router: Serve requests
  caf::actor strategies; ///< strategy_evaluator: bandit evidence (may be null)
  caf::actor topics;     ///< topic_dispatcher: routes, publishes (may be null)

  friend bool operator==(const peer_actors& x, const peer_actors& y) {
    return x.manager == y.manager && x.router == y.router
           && x.strategies == y.strategies && x.topics == y.topics;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_actors& x) {
  return f(caf::meta::type_name("mesh::peer_actors"), x.manager, x.router,
           x.strategies, x.topics);
}

} // namespace mesh
