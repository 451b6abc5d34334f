#pragma once

// check_registrar: what a plug-in registers, recorded instead of served, for
// `meshnode --check-config` (node/check/config_check.hpp). Each add_* refuses what
// the node would refuse at start (a malformed or duplicate handler key, a
// duplicate dispatcher, a route to a dispatcher not registered before it, a
// duplicate hook or task function) by throwing std::invalid_argument, as
// mesh::node does, so the plug-in loader reports it the same way.

#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "node/plugin_api.hpp"
#include "topics/route_table.hpp"

namespace mesh {

class check_registrar : public handler_registrar {
public:
  /// `sys` runs nothing but what plug-ins spawn while registering; routes
  /// and dispatchers go into `routes`, hooks into `hooks`, task functions
  /// into `functions`. All must outlive the registrar.
  check_registrar(caf::actor_system& sys, std::string node_id,
                  route_table& routes, hook_table& hooks,
                  task_functions& functions);

  void add(service_key key, any_handler fn, handler_options opts) override;
  void add_json(service_key key, json_handler fn,
                handler_options opts) override;
  void add_actor(service_key key, caf::actor handler,
                 handler_options opts) override;
  caf::actor_system& system() override;
  std::string node_id() const override;
  caf::actor router() const override; ///< null: nothing runs in a check
  void add_dispatcher(std::string id, message_category category,
                      topic_handler fn,
                      std::set<std::string> message_types) override;
  void add_task_dispatcher(std::string name, task_function fn) override;
  void add_task_kind(std::string kind, task_function fn) override;
  void add_hook(std::string name, hook_stage stage, hook_fn fn) override;
  void add_topic_route(topic_route route) override;

  /// The actors plug-ins registered as handlers: the check stops them.
  const std::vector<caf::actor>& actors() const {
    return actors_;
  }

private:
  void add_key(const service_key& key);

  caf::actor_system& sys_;
  std::string node_id_;
  route_table& routes_;
  hook_table& hooks_;
  task_functions& functions_;
  std::set<service_key> keys_;
  std::vector<caf::actor> actors_;
};

} // namespace mesh
