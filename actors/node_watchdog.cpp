#include "actors/node_watchdog.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

struct watchdog_state {
  static inline const char* name = "mesh.node_watchdog";
  watchdog_config cfg;
  bool stopping = false;
  bool reported = false;
};

watchdog_actor::behavior_type
watchdog_behavior(watchdog_actor::stateful_pointer<watchdog_state> self,
                  watchdog_config cfg) {
  self->state.cfg = std::move(cfg);
  for (const auto& [name, actor] : self->state.cfg.watched)
    if (actor)
      self->monitor(actor);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.stopping || st.reported)
      return;
    for (const auto& [name, actor] : st.cfg.watched) {
      if (actor.address() != dm.source)
        continue;
      st.reported = true;
      auto what = "the " + name + " of node " + st.cfg.node_id
                  + " stopped unexpectedly (" + caf::to_string(dm.reason)
                  + "); the node stops so that its supervisor restarts it";
      log::get("node")->error("{}", what);
      if (st.cfg.on_failure)
        st.cfg.on_failure(what);
      return;
    }
  });
  return {
    [self](atom::drain) { self->state.stopping = true; },
  };
}

} // namespace

watchdog_actor spawn_node_watchdog(caf::actor_system& sys,
                                   watchdog_config cfg) {
  return sys.spawn(watchdog_behavior, std::move(cfg));
}

} // namespace mesh
