#pragma once

// The one place that spawns a node's actors and wires them together:
// registry, router, strategy evaluator, topic dispatcher, connection
// manager (which spawns an ingress per peer) and the gate, and says how the
// supervisor restarts each (node_supervisor.hpp). meshnode's
// mesh::node and the test fixtures both call it, so tests run the real
// wiring. Publishing the gate (plain or TLS) and the console is the
// caller's: the simulated network of the tests publishes differently.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/handlers/job_runner.hpp"
#include "actors/node_supervisor.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "config/node_config.hpp"
#include "protocol/messaging/peer_actors.hpp"

namespace mesh {

struct node_actors {
  // Slots: the supervisor restarts these in place (actors/actor_slot.hpp).
  actor_slot<registry_actor> registry;
  actor_slot<router_actor> router;
  actor_slot<strategies_actor> strategies;
  actor_slot<topics_actor> topics;
  actor_slot<cluster_actor> cluster; ///< connection manager
  actor_slot<tasks_actor> tasks; ///< empty unless the node has a jobs folder
  /// Empty unless the node has a workflows folder, and until the node calls
  /// start_workflows: the runner resumes runs at once, so it starts after
  /// the plug-ins have registered their handlers.
  actor_slot<workflows_actor> workflows;
  std::function<void()> start_workflows;
  gate_actor gate;    ///< what the peer port publishes
  /// This node's decision records (null: traces.capacity is 0).
  trace_ring_ptr traces;

  /// What the node's supervisor watches: each actor above, with how to
  /// restart it with its state rebuilt (the gate's restart is the node's,
  /// which knows where it is published: node/net/node_ports.hpp).
  std::vector<supervised_child> children;

  /// Every actor, in the order shutdown ends them.
  std::vector<caf::actor> all() const;
};

struct node_actors_options {
  std::string node_id;
  std::string incarnation;
  /// Where topic function dispatchers run (tests drive their own); null:
  /// a pool of cfg.topics.threads threads.
  job_runner_ptr topic_runner;
  /// Functions plug-ins register for tasks (null: none can be).
  task_functions_ptr task_functions;
  /// Policies and hooks of the dispatch pipeline (null: the config's
  /// policies, no hooks).
  pipeline_memory_ptr pipeline;
  /// Links to peers beside BASP (null: none); the node starts it.
  std::shared_ptr<data_plane> data;
  /// What dials peers (null: the middleman;
  /// node/net/transport/tls_transport.hpp).
  caf::io::middleman_actor transport;
};

/// Where the node keeps its tasks: tasks.store, or
/// <data_dir>/tasks-<node id>.db.
std::string task_store_path(const node_config& cfg, const std::string& node_id);

/// config's tasks.synchronous as a sync_mode.
sync_mode sync_mode_of(const std::string& name);

/// Spawns and wires the actors of one node from its configuration.
node_actors spawn_node_actors(caf::actor_system& sys, const node_config& cfg,
                              const node_actors_options& opts);

} // namespace mesh
