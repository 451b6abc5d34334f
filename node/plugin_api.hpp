#pragma once

// The handler plug-in interface. A plug-in is a shared library that exports
// one function, declared with MESH_PLUGIN_ENTRY:
//
//   #include "node/plugin_api.hpp"
//   MESH_PLUGIN_ENTRY(registrar) {
//     registrar.add_json({"echo", "EchoService", "Echo"},
//                        [](const mesh::call_context&, const nlohmann::json& in) {
//                          return in;
//                        });
//     return 0;
//   }
//
// `meshnode --plugin path/libx.so` loads it at start-up and calls the entry
// once with a registrar. Return 0 on success; anything else (or an exception)
// aborts the node's start with an error naming the plug-in and the code. A
// plug-in built against another plugin_abi_version is refused before its
// entry runs. A bare file name is looked for in the working directory, next
// to meshnode, then in <meshnode's folder>/../lib/mesh/plugins
// (node/plugins/plugin_loader.hpp).

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/handlers/handler.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "pipeline/hooks.hpp"
#include "actors/topics/topic_handler.hpp"

namespace mesh {

/// Bumped whenever handler_registrar or the handler types change
/// incompatibly; a plug-in built against another version is refused.
inline constexpr uint32_t plugin_abi_version = 4; // 4: pipeline hooks

/// Where plug-ins (and embedding programs) register handlers.
class handler_registrar {
public:
  virtual ~handler_registrar() = default;

  // Each add_* throws std::invalid_argument when the node refuses the handler
  // (malformed name, key already registered).

  /// A function handler: (call_context, Any) -> expected<Any>.
  virtual void add(service_key key, any_handler fn,
                   handler_options opts = {}) = 0;

  /// A JSON handler: (call_context, json) -> json.
  virtual void add_json(service_key key, json_handler fn,
                        handler_options opts = {}) = 0;

  /// An actor handler: handles (mesh::atom::handle, pb::ServeRequest).
  virtual void add_actor(service_key key, caf::actor handler,
                         handler_options opts = {}) = 0;

  /// The node's actor system, for spawning actor handlers.
  virtual caf::actor_system& system() = 0;

  /// The id of the node loading the plug-in.
  virtual std::string node_id() const = 0;

  /// The node's request router: send it a pb::DispatchRequest (as a CAF
  /// request) to call any handler in the cluster, e.g. from a handler that
  /// composes others. It answers with a pb::DispatchResponse. An
  /// event-based caller that never blocks may declare itself so
  /// (actors/cluster/data/non_blocking_callers.hpp): answers from other
  /// nodes then reach it without waking a CAF worker.
  virtual caf::actor router() const = 0;

  /// The node's strategy evaluator: send it a pb::ProcessRequest to run a
  /// business process by its manifest; it answers with a
  /// pb::ProcessResponse. Null when the node has none.
  virtual caf::actor strategies() const {
    return {};
  }

  /// The node's topic dispatcher: send it a pb::PublishRequest to publish;
  /// it answers with a pb::PublishResponse. Null when the node has none.
  virtual caf::actor topics() const {
    return {};
  }

  /// Registers a topic dispatcher: `fn` gets each message of `category`
  /// (and of `message_types`, when not empty) that one of its routes
  /// matches, and returns the output topics to publish next. Throws
  /// std::invalid_argument when refused (duplicate id, frozen routes).
  virtual void add_dispatcher(std::string id, message_category category,
                              topic_handler fn,
                              std::set<std::string> message_types = {})
    = 0;

  /// Registers the function that runs tasks of jobs with runtime kind
  /// `dispatcher` and target `name` (actors/tasks/task_dispatcher.hpp). It
  /// runs on worker threads; it returns the answer (the payload of the
  /// job's outputs) or throws (handler_failure for a specific status).
  /// Throws std::invalid_argument for an empty or duplicate name.
  virtual void add_task_dispatcher(std::string name, task_function fn) = 0;

  /// Registers a task kind: runtimes of this kind (config's "runtimes") run
  /// every task through `fn`, which sees the job's target in task_call.
  virtual void add_task_kind(std::string kind, task_function fn) = 0;

  /// Registers a hook of the dispatch pipeline (pipeline/hooks.hpp): a
  /// policy's `hooks` list names it to run it, before (pre: may reject the
  /// request or add to its context) or after (post: sees the outcome)
  /// execution. Runs on the router's thread: keep it quick. Throws
  /// std::invalid_argument for a malformed or duplicate name.
  virtual void add_hook(std::string name, hook_stage stage, hook_fn fn) = 0;

  /// Registers a route to a dispatcher (topics/route_table.hpp); throws
  /// std::invalid_argument for a bad pattern or an unknown dispatcher.
  virtual void add_topic_route(topic_route route) = 0;
};

using plugin_entry_fn = int (*)(handler_registrar&, uint32_t abi_version);

/// The symbol meshnode looks up.
inline constexpr const char* plugin_entry_symbol = "mesh_register_handlers";

/// The symbol that tells which ABI version a plug-in was built for
/// (MESH_PLUGIN_ENTRY defines it), so that a refused version and a failed
/// registration are told apart before the entry runs. Plug-ins built
/// before it existed lack it; their entry's -1 may mean either.
using plugin_abi_fn = uint32_t (*)();
inline constexpr const char* plugin_abi_symbol = "mesh_plugin_abi_version";

} // namespace mesh

/// Declares the plug-in's entry point; checks the ABI version for you (and
/// exports the version it was built for, mesh_plugin_abi_version). The body
/// returns 0 on success, anything else for a failed registration.
#define MESH_PLUGIN_ENTRY(registrar_name)                                      \
  extern "C" __attribute__((visibility("default"))) uint32_t                   \
  mesh_plugin_abi_version() {                                                  \
    return ::mesh::plugin_abi_version;                                         \
  }                                                                            \
  static int mesh_plugin_register_impl(::mesh::handler_registrar&);            \
  extern "C" __attribute__((visibility("default"))) int                        \
  mesh_register_handlers(::mesh::handler_registrar& r, uint32_t abi) {         \
    if (abi != ::mesh::plugin_abi_version)                                     \
      return -1;                                                               \
    return mesh_plugin_register_impl(r);                                       \
  }                                                                            \
  static int mesh_plugin_register_impl(::mesh::handler_registrar& registrar_name)
