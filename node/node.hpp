#pragma once

// mesh::node: one Mesh node in a process, for meshnode and for programs that
// embed Mesh. It owns the CAF actor system and the node's actors (registry,
// request router, console, ...), listens for peers and for meshctl, and
// offers blocking convenience calls for code outside the actor world.
//
//   auto n = mesh::node::start(cfg);        // caf::expected<unique_ptr<node>>
//   (*n)->add_json({"echo", "EchoService", "Echo"}, echo_fn);
//   auto reply = (*n)->dispatch(request);   // blocks until answered
//   (*n)->shutdown();                       // drains, then stops
//
// All member functions are thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/registry/registry_validator.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "config/node_config.hpp"
#include "node/plugin_api.hpp"

namespace mesh {

namespace pb {
class DispatchRequest;
class DispatchResponse;
class ProcessRequest;
class ProcessResponse;
class PublishRequest;
class PublishResponse;
} // namespace pb

struct dispatcher_spec;

class node : public handler_registrar {
public:
  /// Starts a node: actor system, actors, plug-ins, listeners. Any failure
  /// (port in use, plug-in that does not load, ...) is an error naming it;
  /// nothing is left running.
  static caf::expected<std::unique_ptr<node>> start(node_config cfg);

  ~node() override;

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  const std::string& id() const;
  const host_port& listen_address() const; ///< with the actual port
  const host_port& console_address() const;
  /// "HOST:PORT" of the HTTP API, with the actual port; empty without one.
  std::string http_address() const;

  /// Where the data plane listens (issue 16), or empty when it is off.
  std::string data_plane_address() const;
  /// "HOST:PORT" of the gRPC front door, with the actual port; empty
  /// without one.
  std::string grpc_address() const;
  const node_config& config() const;

  caf::actor_system& system() override;
  std::string node_id() const override { return id(); }
  // The node's actors as they run now: the node's supervisor may replace
  // one after a failure, so ask again rather than keep a handle for long.
  caf::actor router() const override;
  registry_actor registry() const;
  cluster_actor cluster() const; ///< the connection manager

  /// Empty while the node is healthy; else why its supervisor gave up (too
  /// many restarts: the node then shuts down, and meshnode exits 70 so that
  /// its own supervisor restarts it).
  std::string failure() const;
  /// After shutdown(): handlers still ran past the grace. Their threads live
  /// on, so a program that exits now should skip its globals' destructors
  /// (std::_Exit after flushing), as meshnode does.
  bool handlers_left_running() const;
  caf::actor strategies() const override; ///< the strategy evaluator
  caf::actor topics() const override; ///< the topic dispatcher
  caf::actor console() const;

  // -- handlers (handler_registrar; throw std::invalid_argument) ------------

  void add(service_key key, any_handler fn, handler_options opts = {}) override;
  void add_json(service_key key, json_handler fn,
                handler_options opts = {}) override;
  void add_actor(service_key key, caf::actor handler,
                 handler_options opts = {}) override;

  /// Registers a handler; an error says why it was refused.
  caf::error add_handler(handler_spec spec);

  /// Unregisters "namespace/Service/Method"; in-flight calls finish.
  caf::error remove_handler(const std::string& path);

  // -- topics (topic_handler.hpp) -------------------------------------------

  /// Registers a dispatcher of any kind; an error says why it was refused
  /// (duplicate id, frozen table: permission_denied, ...).
  caf::error add_dispatcher(dispatcher_spec spec);

  /// Registers a route; an error names a bad pattern or unknown dispatcher.
  caf::error add_route(topic_route route);

  /// handler_registrar: a function dispatcher / a route (throw on refusal).
  void add_dispatcher(std::string id, message_category category,
                      topic_handler fn,
                      std::set<std::string> message_types = {}) override;
  void add_topic_route(topic_route route) override;

  /// Refuses every later registration; the table is then immutable.
  caf::error freeze_routes();

  /// Publishes and waits for the aggregated result (seed 004).
  pb::PublishResponse publish(pb::PublishRequest req);

  /// Replaces the registry validator (null: none).
  caf::error set_validator(std::shared_ptr<const registry_validator> v);

  // -- requests --------------------------------------------------------------

  /// Dispatches through this node's router and waits for the answer.
  pb::DispatchResponse dispatch(pb::DispatchRequest req);

  /// Process dispatch (manifests): the strategy picks a variant, which runs
  /// wherever it is served; the reply says which and why. Waits.
  pb::ProcessResponse process(pb::ProcessRequest req);

  /// Feeds the bandit: the outcome of one run of `variant_id`. Errors:
  /// not_found for an unknown process or variant.
  caf::error report_outcome(const std::string& process,
                            const std::string& variant_id, bool success);

  // -- durable tasks (seed 002) ----------------------------------------------

  /// Emits an event: {"dataset", "cursor", "partition"?, "payload"?}. Returns
  /// once its tasks are committed: {"created", "skipped", "held", "tasks"}.
  /// Errors: invalid_argument (malformed event), unavailable (no jobs
  /// folder, store failure, shutting down).
  caf::expected<nlohmann::json> emit(const nlohmann::json& event);

  /// handler_registrar: a function that runs the tasks of `dispatcher`
  /// jobs whose target is `name` / every task of a new kind.
  void add_task_dispatcher(std::string name, task_function fn) override;
  void add_task_kind(std::string kind, task_function fn) override;

  // -- the dispatch pipeline (seed 003) --------------------------------------

  /// handler_registrar: a pre- or post-hook that policies can name.
  void add_hook(std::string name, hook_stage stage, hook_fn fn) override;

  /// Reads the policies of the configuration file again (as SIGHUP does),
  /// keeping the last good set when they fail: {"ok", "errors",
  /// "policies"}.
  nlohmann::json reload_policies();

  /// Re-reads the jobs folder (as SIGHUP does), keeping the last good
  /// version of a job that now fails. Returns what changed.
  caf::expected<nlohmann::json> reload_jobs();

  /// The task dispatcher (null without a jobs folder).
  tasks_actor tasks() const;

  /// Re-reads the manifests folder (as SIGHUP does); a manifest that now
  /// fails keeps its last good version. Returns what changed.
  caf::expected<nlohmann::json> reload_manifests();

  // -- workflows (seed 003) --------------------------------------------------

  /// Runs workflow `name` with `input` (checked against its input_schema)
  /// and waits for the end: the run as JSON (workflows/runs/workflow_run.hpp:
  /// "status", "steps", "output", ...). A run that fails is still a value;
  /// errors: invalid_argument (input), not_found (no such workflow),
  /// unavailable (no workflows folder, shutting down).
  caf::expected<nlohmann::json> run_workflow(const std::string& name,
                                             const nlohmann::json& input);

  /// The same with the whole request: {"workflow": NAME | "definition":
  /// {... as a file, e.g. workflow_builder::build()}, "input", "context",
  /// "trace_id", "async"}. With "async": true it returns {"run_id", ...} at
  /// once.
  caf::expected<nlohmann::json> run_workflow(const nlohmann::json& request);

  /// One run (under way or kept in the history), as JSON.
  caf::expected<nlohmann::json> workflow_run(const std::string& run_id);

  /// Cancels a run and returns it as it ended (after its compensation).
  caf::expected<nlohmann::json> cancel_workflow_run(const std::string& run_id);

  /// Re-reads the workflows folder (as SIGHUP does), keeping the last good
  /// version of a workflow that now fails. Returns what changed.
  caf::expected<nlohmann::json> reload_workflows();

  /// The workflow runner (null without a workflows folder).
  workflows_actor workflows() const;

  // -- lifecycle -------------------------------------------------------------

  /// Called (once, from an actor thread) when an operator asks the node to
  /// leave; meshnode turns it into its normal shutdown path.
  void on_leave_request(std::function<void()> f);

  /// Refuses new requests, lets in-flight ones finish (up to `grace`, the
  /// configured shutdown_grace_ms by default), closes the listeners and stops
  /// every actor. Idempotent; the destructor calls it.
  void shutdown();
  void shutdown(std::chrono::milliseconds grace);

private:
  caf::error add_configured_topics();
  caf::error start_tasks();
  dispatcher_spec emit_dispatcher(const dispatcher_decl& decl);
  struct impl;
  friend struct node_ports; // node/net/node_ports.hpp: publishing, restarts
  explicit node(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace mesh
