#pragma once

// node_watchdog: notices when one of the node's own actors dies while the
// node runs (an exception, a bug) and says so, instead of letting the node
// limp on with a part missing while `meshctl status` looks healthy.
//
// Mesh does not restart a single actor in place yet: the others hold its
// handle. The watchdog logs the death at error with the actor's name and
// reason and asks the node to stop, so that the process supervisor
// (systemd's Restart=, examples/systemd) restarts the node whole and every
// request in flight gets its answer from the shutdown (unavailable).
//
// Protocol (watchdog_actor below):
//   (atom::drain)   // the node is stopping: deaths from now on are expected

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "protocol/atoms.hpp"

namespace mesh {

using watchdog_actor = caf::typed_actor<caf::reacts_to<atom::drain>>;

struct watchdog_config {
  std::string node_id;
  /// The actors to watch, by the name the log and the error use.
  std::vector<std::pair<std::string, caf::actor>> watched;
  /// Called once, with what died and why; must not block.
  std::function<void(const std::string& what)> on_failure;
};

watchdog_actor spawn_node_watchdog(caf::actor_system& sys,
                                   watchdog_config cfg);

} // namespace mesh
