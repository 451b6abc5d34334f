#pragma once

// The inside of mesh::node, shared by node.cpp (start, shutdown) and
// node_api.cpp (the blocking calls). Not installed; not for users.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/console/console.hpp"
#include "actors/actor_slot.hpp"
#include "actors/node_supervisor.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "cluster/transport/data_plane.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "cluster/security/handshake.hpp"
#include "grpc/door_entry.hpp"
#include "http/http_server.hpp"
#include "node/net/transport/silence_sweep.hpp"
#include "protocol/messaging/peer_actors.hpp"
#include "node/node.hpp"
#include "telemetry/log.hpp"

namespace mesh {

struct node::impl {
  node_config cfg;
  std::string id;
  host_port listen;
  host_port console;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  /// Closes CAF connections silent for 10 s (null: not a guarded
  /// multiplexer); declared after sys, so it stops first.
  std::unique_ptr<silence_sweep> sweep;
  /// Speaks TLS to peers (null without TLS); stopped before sys ends.
  caf::io::middleman_actor tls_transport;
  std::string incarnation = random_hex_token();
  // Slots: the supervisor may restart these (actors/actor_slot.hpp).
  actor_slot<registry_actor> registry;
  actor_slot<router_actor> router;
  actor_slot<cluster_actor> cluster;
  actor_slot<strategies_actor> strategies;
  actor_slot<topics_actor> topics;
  actor_slot<tasks_actor> tasks; ///< empty without a jobs folder
  actor_slot<workflows_actor> workflows; ///< empty without a workflows folder
  task_functions_ptr task_functions = std::make_shared<mesh::task_functions>();
  pipeline_memory_ptr pipeline = std::make_shared<pipeline_memory>();
  actor_slot<mesh::console_actor> console_actor;
  console_config console_cfg; ///< what a restarted console starts from
  supervisor_actor supervisor;
  std::string failure; ///< why the supervisor gave up (guarded by mtx)
  bool handlers_left_running = false; ///< set by shutdown() (see node.hpp)
  actor_slot<gate_actor> gate;
  /// The HTTP API (null when cfg.http is unset); stopped before the actor
  /// system ends, since its requests run in scoped actors.
  std::unique_ptr<http_server> http;
  /// The gRPC front door (null when cfg.grpc is unset); stopped before the
  /// actor system ends, since actors answer its calls.
  std::unique_ptr<front_door> grpc;
  /// libmesh_grpc.so's entry, opened at start when cfg.grpc is set.
  const grpc_door_entry* grpc_entry = nullptr;
  /// Its calls by method and code (null without a door); made before the
  /// console, whose status shows them.
  std::shared_ptr<call_counts> grpc_counts;
  /// The HTTP API's requests (null without it); made before the console.
  std::shared_ptr<http_counter> http_counts;
  /// Links to peers beside BASP (null: off, or TLS); its thread sends to
  /// the actors, so it stops before the actor system ends.
  std::shared_ptr<data_plane> data;
  std::mutex mtx;
  bool stopped = false;
  struct leave_callback {
    std::mutex mtx;
    std::function<void()> fn;
  };
  std::shared_ptr<leave_callback> leave_cb = std::make_shared<leave_callback>();
  std::shared_ptr<spdlog::logger> log = log::get("node");

  std::vector<caf::actor> actors() const {
    return {caf::actor_cast<caf::actor>(console_actor.get()),
            caf::actor_cast<caf::actor>(workflows.get()),
            caf::actor_cast<caf::actor>(tasks.get()),
            caf::actor_cast<caf::actor>(topics.get()),
            caf::actor_cast<caf::actor>(strategies.get()),
            caf::actor_cast<caf::actor>(gate.get()),
            caf::actor_cast<caf::actor>(cluster.get()),
            caf::actor_cast<caf::actor>(router.get()),
            caf::actor_cast<caf::actor>(registry.get())};
  }
};

/// Before the node starts: a jobs folder that exists, a task store that
/// opens (node_tasks.cpp).
caf::error check_task_store(const node_config& cfg, const std::string& id);

/// Asks one of the node's actors (from a scoped actor: they take requests
/// from this node only) and waits for its JSON answer.
template <class Handle, class... Ts>
caf::expected<nlohmann::json> ask_and_wait(caf::actor_system& sys,
                                           const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<nlohmann::json> result{nlohmann::json{}};
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .receive([&](nlohmann::json& r) { result = std::move(r); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// Before the node starts: `folder` (the `what` folder: "jobs") exists,
/// and `open` opens its store at `path` (its folder created first; what it
/// throws is the error).
caf::error check_folder_and_store(const std::string& folder, const char* what,
                                  const std::string& path,
                                  const std::function<void(const std::string&)>& open);

/// Before the node starts: a workflows folder that exists, a run store
/// that opens (node_workflows.cpp).
caf::error check_workflow_store(const node_config& cfg, const std::string& id);

/// Before the node starts: the pipeline's policies and built-in hooks
/// (an audit file that cannot be opened stops the start), and how a reload
/// reads the policies again (node_api.cpp).
caf::error setup_pipeline(pipeline_memory& mem, const node_config& cfg);

/// Once the plug-ins are loaded: every hook a policy names exists.
caf::error check_policy_hooks(const pipeline_memory& mem);

} // namespace mesh
