#pragma once

// What a topic dispatcher is (seed 004): code that receives the messages of
// its category (and message types) whose topics match its routes, and
// returns no, one or several output topics, which the node then publishes
// in turn (same category, message type and payload).
//
// Four kinds:
//   function  a C++ function, run off CAF's scheduler threads; it may throw
//             (the error text is sanitised: no secrets leak into results);
//   actor     a CAF actor that receives (atom::publish, pb::PublishRequest)
//             and replies with a nlohmann::json array of output topics (or
//             an error);
//   record    built in: keeps the last `keep` messages (meshctl records ID);
//   forward   built in: dispatches the message's payload to the handler
//             `forward_to` (namespace/Service/Method) anywhere in the
//             cluster, so an event can trigger handlers on other nodes.

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <nlohmann/json.hpp>

#include "topics/route_table.hpp"

namespace mesh {

struct topic_message {
  std::string topic;
  message_category category = message_category::event;
  std::string message_type;
  nlohmann::json payload;
  std::string trace_id;
  std::string dispatch_id;
};

/// Returns the output topics; throws on failure.
using topic_handler
  = std::function<std::vector<std::string>(const topic_message&)>;

struct dispatcher_spec {
  dispatcher_info info; ///< id, category, message types; kind is set here
  topic_handler fn;     ///< kind "function"
  caf::actor actor;     ///< kind "actor"
  size_t keep = 100;    ///< kind "record": messages kept
  std::string forward_to; ///< kind "forward": namespace/Service/Method
};

inline dispatcher_spec make_function_dispatcher(
  std::string id, message_category category, topic_handler fn,
  std::set<std::string> message_types = {}) {
  dispatcher_spec s;
  s.info = {std::move(id), category, std::move(message_types), "function"};
  s.fn = std::move(fn);
  return s;
}

inline dispatcher_spec make_actor_dispatcher(
  std::string id, message_category category, caf::actor actor,
  std::set<std::string> message_types = {}) {
  dispatcher_spec s;
  s.info = {std::move(id), category, std::move(message_types), "actor"};
  s.actor = std::move(actor);
  return s;
}

} // namespace mesh
