#pragma once

// node_supervisor: Erlang/OTP's one_for_one for the node's own actors. It
// watches each of them; when one dies while the node runs (an exception, a
// bug), it logs the death at error with the actor's name and reason and
// starts a successor with its state rebuilt, which the others reach through
// their actor_slot (actors/actor_slot.hpp). Requests that were waiting on
// the dead actor get an answer from CAF (receiver down) or from a guarded
// promise (actors/guarded_promise.hpp), never silence.
//
// Restarts are bounded like OTP's intensity and period: more than
// `max_restarts` in `window`, or the death of a child without a restart
// function, and the supervisor gives up: it says so and calls on_failure, and meshnode stops with exit code 70
// for its process supervisor (examples/systemd) to restart it whole.
//
// Protocol (supervisor_actor below):
//   (atom::stats) -> nlohmann::json  // per actor: state, restarts, last failure
//   (atom::drain) -> caf::ok_atom    // the node is stopping: deaths expected
//   (atom::kill, std::string name) -> caf::ok_atom  // tests: fails that
//        actor on purpose (the console allows it only under
//        MESH_TEST_INJECT_FAILURES=1); not_found: no such actor

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "protocol/messaging/atoms.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

using supervisor_actor
  = caf::typed_actor<caf::replies_to<atom::drain>::with<caf::ok_atom>,
                     caf::replies_to<atom::stats>::with<nlohmann::json>,
                     caf::replies_to<atom::kill, std::string>::with<caf::ok_atom>>;

/// One actor the supervisor watches.
struct supervised_child {
  std::string name; ///< as logs, errors and `meshctl status` say it
  /// The actor running now.
  std::function<caf::actor()> current;
  /// Spawns a successor with its state rebuilt, installs it in its slot and
  /// returns it; empty: this actor cannot be restarted (the node stops).
  std::function<caf::actor()> restart;
};

struct supervisor_config {
  std::string node_id;
  std::vector<supervised_child> children;
  /// More restarts than this within `window`: give up (limits.max_restarts).
  uint32_t max_restarts = 5;
  std::chrono::milliseconds window{60000};
  /// Called once when the supervisor gives up, with why; must not block.
  std::function<void(const std::string& what)> on_failure;
};

supervisor_actor spawn_node_supervisor(caf::actor_system& sys,
                                       supervisor_config cfg);

} // namespace mesh
