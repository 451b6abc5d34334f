#include "node/check/check_registrar.hpp"

#include <stdexcept>

#include "actors/tasks/task_dispatcher.hpp"
#include "pipeline/hooks.hpp"

namespace mesh {

check_registrar::check_registrar(caf::actor_system& sys, std::string node_id,
                                 route_table& routes, hook_table& hooks,
                                 task_functions& functions)
  : sys_(sys),
    node_id_(std::move(node_id)),
    routes_(routes),
    hooks_(hooks),
    functions_(functions) {
}

void check_registrar::add_key(const service_key& key) {
  // The registry's own words (actors/routing/registry/registry.cpp).
  if (auto err = check_service_key(key); !err.empty())
    throw std::invalid_argument("cannot register handler: " + err);
  if (!keys_.insert(key).second)
    throw std::invalid_argument("handler " + to_string(key)
                                + " is already registered on " + node_id_);
}

void check_registrar::add(service_key key, any_handler fn, handler_options) {
  if (!fn)
    throw std::invalid_argument("handler " + to_string(key)
                                + " has no function or actor");
  add_key(key);
}

void check_registrar::add_json(service_key key, json_handler fn,
                               handler_options) {
  if (!fn)
    throw std::invalid_argument("handler " + to_string(key)
                                + " has no function or actor");
  add_key(key);
}

void check_registrar::add_actor(service_key key, caf::actor handler,
                                handler_options) {
  if (!handler)
    throw std::invalid_argument("handler " + to_string(key)
                                + " has no function or actor");
  actors_.push_back(handler); // stopped after the check, even if refused
  add_key(key);
}

caf::actor_system& check_registrar::system() {
  return sys_;
}

std::string check_registrar::node_id() const {
  return node_id_;
}

caf::actor check_registrar::router() const {
  return {};
}

void check_registrar::add_dispatcher(std::string id, message_category category,
                                     topic_handler fn,
                                     std::set<std::string> message_types) {
  if (!fn)
    throw std::invalid_argument("dispatcher '" + id
                                + "': a function dispatcher needs a function");
  if (auto err = routes_.add_dispatcher(
        {std::move(id), category, std::move(message_types), "function"});
      !err.empty())
    throw std::invalid_argument(err);
}

void check_registrar::add_task_dispatcher(std::string name, task_function fn) {
  functions_.add_dispatcher(name, std::move(fn));
}

void check_registrar::add_task_kind(std::string kind, task_function fn) {
  functions_.add_kind(kind, std::move(fn));
}

void check_registrar::add_hook(std::string name, hook_stage stage,
                               hook_fn fn) {
  hooks_.add(std::move(name), stage, std::move(fn));
}

void check_registrar::add_topic_route(topic_route route) {
  if (auto err = routes_.add_route(std::move(route)); !err.empty())
    throw std::invalid_argument(err);
}

} // namespace mesh
