#include "actors/console/client_ingress.hpp"

#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "protocol/status.hpp"
#include "protocol/type_ids.hpp"

namespace mesh {

namespace {

struct client_ingress_state {
  static inline const char* name = "mesh.client_ingress";
  std::string node_id;
  actor_slot<router_actor> router;
  caf::actor console;
  bool open = false;
  std::set<caf::node_id> admitted;
};

client_ingress_actor::behavior_type client_ingress_behavior(
  client_ingress_actor::stateful_pointer<client_ingress_state> self,
  std::string node_id,
  actor_slot<router_actor> router, caf::actor console, bool open) {
  auto& st = self->state;
  st.node_id = std::move(node_id);
  st.router = std::move(router);
  st.console = std::move(console);
  st.open = open;
  self->monitor(st.console);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  auto refuse = [self] {
    return make_error(status_code::permission_denied,
                      "node " + self->state.node_id
                        + " takes requests only from clients that showed "
                          "the console token");
  };
  self->set_default_handler(
    [refuse](caf::scheduled_actor*, caf::message_view&)
      -> caf::result<caf::message> { return refuse(); });
  return {
    [self, refuse](pb::DispatchRequest& req)
      -> caf::result<pb::DispatchResponse> {
      auto& st = self->state;
      const auto& src = self->current_sender();
      if (!src || (!st.open && st.admitted.count(src->node()) == 0))
        return refuse();
      auto rp = self->make_response_promise<pb::DispatchResponse>();
      self->request(st.router.get(), caf::infinite, std::move(req))
        .then(
          [rp](pb::DispatchResponse& r) mutable { rp.deliver(std::move(r)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::add, caf::node_id& who) {
      if (self->current_sender()
          == caf::actor_cast<caf::strong_actor_ptr>(self->state.console))
        self->state.admitted.insert(who);
    },
  };
}

} // namespace

client_ingress_actor
spawn_client_ingress(caf::actor_system& sys, std::string node_id,
                                actor_slot<router_actor> router, caf::actor console,
                                bool open) {
  return sys.spawn(client_ingress_behavior, std::move(node_id),
                   std::move(router), std::move(console), open);
}

} // namespace mesh
