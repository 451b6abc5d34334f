#pragma once

// registry: the handlers of this node, by (namespace, service, method).
//
// Owns one handler_executor per handler, the served namespaces and the
// registry_validator hook. Every change produces a new immutable
// handler_table, pushed to every subscriber as (atom::update, table).
// Handlers can be added and removed at any time; a removed handler's
// executor finishes its in-flight calls, then quits.
//
// Protocol (registry_actor below):
//   (atom::add, handler_spec)            -> caf::ok_atom
//        error invalid_argument: bad name, or the key is already registered
//   (atom::remove, service_key_text)     -> caf::ok_atom      // "ns/S/M"
//        error not_found: no such handler
//   (atom::namespaces, std::vector<std::string> names, bool declared)
//                                        -> caf::ok_atom
//        declared=false: serve the namespaces of the registered handlers
//   (atom::namespaces, atom::add|remove, std::string name)  -> caf::ok_atom
//        adds or removes one declared namespace (declaring them if needed)
//   (atom::validator, registry_validator_ptr)  -> caf::ok_atom  // null: none
//   (atom::subscribe, caf::actor who)    // who gets (atom::update, table) now
//                                        // and after every change
//   (atom::handlers)                     -> nlohmann::json  // list + stats
//   (atom::stats)                        -> nlohmann::json  // summary
//   (atom::drain)                        -> caf::ok_atom    // all executors idle

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry_validator.hpp"
#include "telemetry/trace_ring.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

#include "actors/handlers/job_runner.hpp"

namespace mesh {

using registry_actor = caf::typed_actor<
  caf::replies_to<atom::add, handler_spec>::with<caf::ok_atom>,
  caf::replies_to<atom::remove, std::string>::with<caf::ok_atom>,
  caf::replies_to<atom::namespaces, std::vector<std::string>,
                  bool>::with<caf::ok_atom>,
  caf::replies_to<atom::namespaces, atom::add, std::string>::with<caf::ok_atom>,
  caf::replies_to<atom::namespaces, atom::remove,
                  std::string>::with<caf::ok_atom>,
  caf::replies_to<atom::validator, registry_validator_ptr>::with<caf::ok_atom>,
  caf::reacts_to<atom::subscribe, caf::actor>,
  caf::replies_to<atom::handlers>::with<nlohmann::json>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>>;

struct registry_memory; // registry.cpp

struct registry_config {
  std::string node_id;
  /// Served namespaces; nullopt = the namespaces of registered handlers.
  std::optional<std::vector<std::string>> namespaces;
  size_t max_concurrency = 16;
  size_t max_queue = 1024;
  std::chrono::milliseconds default_deadline{5000};
  std::chrono::milliseconds max_deadline{60000};
  /// For tests: how executors run handler code (null = worker threads).
  job_runner_factory runner_factory;
  /// Where handlers' ctx.heartbeat() goes (node_actors.cpp sets it).
  task_heartbeat_sink heartbeat;
  /// Handed to every executor for its "execute" records (null: none).
  trace_ring_ptr traces;
  /// Kept across restarts by the supervisor (make_registry_memory); null:
  /// nothing is kept.
  std::shared_ptr<registry_memory> memory;
};

/// An empty memory for a registry the supervisor may restart.
std::shared_ptr<registry_memory> make_registry_memory();

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg);

} // namespace mesh
