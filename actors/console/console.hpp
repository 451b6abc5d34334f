#pragma once

// console: the node's admin interface, reached through the HTTP API (meshctl,
// curl, the dashboard) and by CAF clients (console_client) over the network.
//
// One request type: a JSON command in, a JSON reply out, both as strings so
// clients and the node agree without sharing C++ types. Every request from
// the network carries the console token, checked (in constant time) before
// anything else is read; with no token configured (a loopback console),
// any token passes. A wrong token is `permission_denied`.
//   (atom::console, std::string token, std::string command) -> std::string
//   (atom::router, std::string token) -> caf::actor  // client_ingress, for
//                                                    // binary clients
//  from this node only (a local sender):
//   (atom::drain) -> caf::ok_atom   // once every command so far is answered;
//                                   // later commands get `unavailable`
//   (atom::update, std::string console_address, std::string http_address)
// A command is {"cmd": NAME, ...arguments}. Every reply is one envelope:
// {"ok": bool, "status": a status name, "code": its number, "result": ...};
// failures have "error" and may keep a "result" (e.g. the handled_by and
// trace_id of a failed dispatch).
// Commands are grouped by area (console_commands.hpp); each runs without
// blocking: it asks the node's actors and answers when they have.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/node_supervisor.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/workflows/workflow_runner.hpp"

namespace mesh {

/// What the network may send the console (it is published as this, and
/// checks the token first).
using console_gate_actor = caf::typed_actor<
  caf::replies_to<atom::console, std::string, std::string>::with<std::string>,
  caf::replies_to<atom::router, std::string>::with<caf::actor>>;

/// The console's whole interface: the gate's, and the node's own commands
/// (refused unless they come from this node).
using console_actor = console_gate_actor::extend<
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::reacts_to<atom::update, std::string, std::string>>;

/// The actors and facts the console reports on or drives.
struct console_config {
  std::string node_id;
  std::string listen;   ///< host:port of the peer listener
  std::string console;  ///< host:port of this console
  std::string http;     ///< host:port of the node's HTTP API (empty: none)
  std::chrono::system_clock::time_point started;
  // Slots: the supervisor may restart these (actors/actor_slot.hpp).
  actor_slot<router_actor> router;
  actor_slot<registry_actor> registry;
  actor_slot<cluster_actor> cluster; ///< connection_manager (may be empty)
  actor_slot<strategies_actor> strategies; ///< strategy_evaluator (may be empty)
  actor_slot<topics_actor> topics;   ///< topic_dispatcher (may be empty)
  actor_slot<tasks_actor> tasks;     ///< task_dispatcher (may be empty)
  actor_slot<workflows_actor> workflows; ///< workflow_runner (may be empty)
  /// The node's supervisor: `status` shows each actor's health and
  /// restarts (a slot: it starts after the console; may stay empty).
  actor_slot<supervisor_actor> supervisor;
  std::string token;     ///< console token; empty: none
  /// Asks the node to leave the cluster (meshctl leave); runs on the
  /// console's thread and must not block.
  std::function<void()> request_leave;
  /// Tests only (MESH_TEST_INJECT_FAILURES=1 at start): the console takes
  /// {"cmd": "inject_failure", "actor": NAME}, which kills that actor, or
  /// with NAME "data links" fails this node's outbound data links, or with
  /// NAME "data tokens" refuses the next peer that asks for a new token.
  bool allow_fault_injection = false;
  /// Fails the node's outbound data links and says how many (null: the
  /// node has no data plane). Thread-safe.
  std::function<size_t()> fail_data_links;
  /// Refuses the next peer's request for a data-link token (null: the node
  /// has no data plane). Thread-safe.
  std::function<void()> refuse_data_token;
  /// The gRPC front door's calls by method and code (call_counts'
  /// to_json(); `status` shows them as "grpc_calls"; null: the node has
  /// no gRPC door). Thread-safe.
  std::function<nlohmann::json()> grpc_calls;
  /// The HTTP API's requests by verb, route and status (http_counter's
  /// to_json(); `status` shows them as "http_requests"; null: no HTTP
  /// API). Thread-safe.
  std::function<nlohmann::json()> http_requests;
};

console_actor spawn_console(caf::actor_system& sys, console_config cfg);

/// Every command the console knows, sorted (inject_failure among them,
/// though only a node started for fault tests takes it).
const std::vector<std::string>& console_command_names();

/// Whether `given` is the console token `configured` (anything is, when none
/// is configured); constant time. The console and /metrics both ask this.
bool token_accepted(std::string_view configured, std::string_view given);

} // namespace mesh
