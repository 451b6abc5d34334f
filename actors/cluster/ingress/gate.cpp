#include "actors/cluster/ingress/gate.hpp"

#include "actors/cluster/membership/connection_manager.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

struct gate_state {
  static inline const char* name = "mesh.gate";
  std::string node_id;
  actor_slot<cluster_actor> cluster;
  std::shared_ptr<spdlog::logger> log;
  uint64_t refused = 0;

  caf::error refuse(const std::string& what) {
    if (refused++ % 1000 < 3)
      log->warn("peer port of {} refused {} ({} so far)", node_id, what,
                refused);
    return make_error(status_code::permission_denied,
                      "this is the peer port of node " + node_id
                        + ": it accepts only the Mesh handshake (" + what
                        + "); meshctl talks to the node's HTTP address");
  }
};

using self_ptr = gate_actor::stateful_pointer<gate_state>;

gate_actor::behavior_type gate_behavior(self_ptr self, std::string node_id,
                                        actor_slot<cluster_actor> cluster) {
  auto& st = self->state;
  st.node_id = std::move(node_id);
  st.cluster = std::move(cluster);
  st.log = log::get("cluster");
  // Anything but a hello: refused, never an "unexpected message" on stdout.
  self->set_default_handler(
    [](caf::scheduled_actor* ptr, caf::message_view&) -> caf::result<caf::message> {
      return static_cast<self_ptr>(ptr)->state.refuse("a message that is not "
                                                      "a hello");
    });
  return {
    [self](atom::hello, pb::ConnectRequest& req, peer_actor& theirs)
      -> caf::result<pb::ConnectResponse, peer_actor> {
      const auto& src = self->current_sender();
      if (!src)
        return self->state.refuse("an anonymous hello");
      // Read before the promise: making it takes the sender over.
      auto from = src->node();
      // Asked and answered here, not delegated: the answer (or refusal)
      // comes from the gate, so the dialler never learns another handle.
      auto rp = self->make_response_promise<pb::ConnectResponse, peer_actor>();
      self
        ->request(self->state.cluster.get(), caf::infinite, atom::hello_v,
                  std::move(req), std::move(theirs), std::move(from))
        .then(
          [rp](pb::ConnectResponse& resp, peer_actor& ours) mutable {
            rp.deliver(std::move(resp), std::move(ours));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace

gate_actor spawn_gate(caf::actor_system& sys, std::string node_id,
                      actor_slot<cluster_actor> cluster) {
  return sys.spawn(gate_behavior, std::move(node_id), std::move(cluster));
}

} // namespace mesh
