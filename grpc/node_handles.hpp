#pragma once

// What the gRPC front door's services need of their node: its actors (in
// slots: the supervisor may restart an actor, so each call looks its actor
// up), its id, token and deadline cap. No gRPC type here: the node includes
// this without gRPC's headers.

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "config/node_config.hpp"
#include "telemetry/call_counts.hpp"

namespace mesh::grpc_door {

struct node_handles {
  caf::actor_system* sys = nullptr;
  std::string node_id;
  std::string listen; ///< its peer address (host:port), as peers dial it
  std::string token; ///< the console token; empty: none
  std::chrono::milliseconds max_deadline{60000}; ///< limits.max_deadline_ms
  tls_config tls; ///< cluster.tls: its CA checks another door (Connect)
  actor_slot<router_actor> router;
  actor_slot<cluster_actor> cluster;     ///< may stay empty
  actor_slot<strategies_actor> strategies;
  actor_slot<topics_actor> topics;
  actor_slot<tasks_actor> tasks;         ///< empty without --jobs
  actor_slot<workflows_actor> workflows; ///< empty without --workflows
  /// Calls by method and gRPC code (grpc_door::make_call_counts(); null:
  /// not counted), shared with the console's status.
  std::shared_ptr<call_counts> counts;
};

/// Counts for every method of the door (grpc/call_support.hpp's
/// door_method), by gRPC code as gRPC names them (OK ... UNAUTHENTICATED):
/// what node_handles::counts holds.
std::shared_ptr<call_counts> make_call_counts();

} // namespace mesh::grpc_door
