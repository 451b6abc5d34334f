#include "actors/node_actors.hpp"

#include <filesystem>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/cluster/ingress/gate.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "cluster/security/handshake.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

template <class Handle>
caf::actor untyped(const Handle& h) {
  return caf::actor_cast<caf::actor>(h);
}

/// How a restartable actor comes back: spawn it again from its config,
/// install it in its slot, and, for a follower of the cluster's peer
/// tables, subscribe it to the connection manager (which sends the current
/// table at once). The successor asks as itself: the connection manager
/// takes commands from this node's actors only.
template <class Handle, class Spawn>
supervised_child restartable(std::string name, actor_slot<Handle> slot,
                             Spawn spawn,
                             actor_slot<cluster_actor> follows = {}) {
  supervised_child c;
  c.name = std::move(name);
  c.current = [slot] { return untyped(slot.get()); };
  c.restart = [slot, spawn, follows]() mutable {
    auto successor = spawn();
    slot.set(successor);
    if (auto cm = follows.get())
      caf::send_as(untyped(successor), cm, atom::subscribe_v,
                   untyped(successor));
    return untyped(successor);
  };
  return c;
}

// Watched without a restart here: the gate's successor must be published
// where it was, which only the node knows (node/net/node_ports.hpp replaces
// this entry).
supervised_child watched_only(std::string name, caf::actor current) {
  supervised_child c;
  c.name = std::move(name);
  c.current = [current] { return current; };
  return c;
}

// ctx.heartbeat(): to this node's task dispatcher, or through the router
// to the peer holding the task's queue. From a scoped actor: the node's
// actors take messages from their own node only, never anonymous ones.
task_heartbeat_sink heartbeat_sink(caf::actor_system& sys, std::string node_id,
                                   actor_slot<tasks_actor> tasks,
                                   actor_slot<router_actor> router) {
  return [&sys, node_id, tasks, router](const task_context& t) {
    pb::TaskHeartbeat hb;
    hb.set_task_id(t.id);
    hb.set_attempt(t.attempt);
    hb.set_queue_node(t.queue_node);
    hb.set_from_node(node_id);
    caf::scoped_actor me{sys};
    if (t.queue_node == node_id) {
      if (auto a = tasks.get())
        me->send(a, atom::heartbeat_v, std::move(hb));
    } else if (auto r = router.get()) {
      me->send(r, atom::heartbeat_v, std::move(hb));
    }
  };
}

task_dispatcher_config task_config(const node_config& cfg,
                                   const node_actors_options& opts,
                                   const node_actors& out) {
  using std::chrono::milliseconds;
  const auto& t = cfg.tasks;
  task_dispatcher_config tc;
  tc.node_id = opts.node_id;
  tc.jobs_dir = t.jobs_dir;
  tc.store_path = task_store_path(cfg, opts.node_id);
  tc.sync = sync_mode_of(t.synchronous);
  tc.max_payload_bytes = cfg.limits.max_payload_bytes;
  tc.runtimes = t.runtimes;
  tc.group_commit = milliseconds{t.group_commit_ms};
  tc.group_commit_max = t.group_commit_max;
  tc.tick = milliseconds{t.tick_ms};
  tc.done_retention = std::chrono::seconds{t.done_retention_s};
  tc.max_deadline = milliseconds{cfg.limits.max_deadline_ms};
  tc.defer_load = true;
  tc.router = out.router;
  tc.strategies = out.strategies;
  tc.traces = out.traces;
  tc.functions = opts.task_functions ? opts.task_functions
                                     : std::make_shared<task_functions>();
  if (!cfg.manifests_dir.empty())
    tc.process_exists = [dir = cfg.manifests_dir](const std::string& name) {
      std::error_code ec;
      return std::filesystem::is_regular_file(dir + "/" + name + ".json", ec);
    };
  else
    tc.process_exists = [](const std::string&) { return false; };
  return tc;
}

} // namespace

std::string task_store_path(const node_config& cfg,
                            const std::string& node_id) {
  if (!cfg.tasks.store.empty())
    return cfg.tasks.store;
  return cfg.data_dir + "/tasks-" + node_id + ".db";
}

sync_mode sync_mode_of(const std::string& name) {
  if (name == "normal")
    return sync_mode::normal;
  if (name == "off")
    return sync_mode::off;
  return sync_mode::full;
}

std::vector<caf::actor> node_actors::all() const {
  return {untyped(workflows.get()), untyped(tasks.get()), untyped(topics.get()),
          untyped(strategies.get()),
          untyped(gate),          untyped(cluster.get()),
          untyped(router.get()),  untyped(registry.get())};
}

node_actors spawn_node_actors(caf::actor_system& sys, const node_config& cfg,
                              const node_actors_options& opts) {
  using std::chrono::milliseconds;
  node_actors out;
  // Created now (null) so that every copy shares the cell the dispatcher
  // is installed in later.
  out.tasks = actor_slot<tasks_actor>{tasks_actor{}};
  out.workflows = actor_slot<workflows_actor>{workflows_actor{}};
  out.router = actor_slot<router_actor>{router_actor{}};
  // One ring per node, shared by every actor that decides about a request
  // (and by the ingresses, which read it for peers); successors keep it.
  if (cfg.trace_capacity > 0) {
    out.traces = std::make_shared<trace_ring>(opts.node_id, cfg.trace_capacity);
    out.traces->set_sample(cfg.trace_sample);
  }
  const auto& lim = cfg.limits;
  registry_config rc;
  rc.node_id = opts.node_id;
  rc.namespaces = cfg.namespaces;
  rc.max_concurrency = lim.max_concurrency;
  rc.max_queue = lim.max_queue;
  rc.default_deadline = milliseconds{lim.default_deadline_ms};
  rc.max_deadline = milliseconds{lim.max_deadline_ms};
  rc.memory = make_registry_memory();
  rc.heartbeat = heartbeat_sink(sys, opts.node_id, out.tasks, out.router);
  rc.traces = out.traces;
  auto spawn_reg = [&sys, rc] { return spawn_registry(sys, rc); };
  out.registry.set(spawn_reg());
  router_config ro;
  ro.node_id = opts.node_id;
  ro.max_payload_bytes = lim.max_payload_bytes;
  ro.max_hops = lim.max_hops;
  ro.default_deadline = milliseconds{lim.default_deadline_ms};
  ro.max_deadline = milliseconds{lim.max_deadline_ms};
  ro.load_balancing = cfg.cluster.load_balancing;
  ro.registry = out.registry;
  ro.traces = out.traces;
  ro.pipeline = opts.pipeline;
  ro.data = opts.data;
  if (!ro.pipeline) {
    ro.pipeline = std::make_shared<pipeline_memory>();
    ro.pipeline->set(cfg.pipeline.policies);
  }
  auto spawn_router = [&sys, ro] { return spawn_request_router(sys, ro); };
  out.router.set(spawn_router());
  strategy_evaluator_config se;
  se.node_id = opts.node_id;
  se.manifests_dir = cfg.manifests_dir;
  se.data_dir = cfg.data_dir;
  se.keep_evidence = !node_id_is_per_process(cfg);
  se.router = out.router;
  se.deadline = milliseconds{lim.default_deadline_ms};
  se.traces = out.traces;
  // Its state is its files: a successor reads manifests and evidence again.
  auto spawn_se = [&sys, se] { return spawn_strategy_evaluator(sys, se); };
  out.strategies.set(spawn_se());
  topic_dispatcher_config td;
  td.node_id = opts.node_id;
  td.router = out.router;
  td.dispatcher_timeout = milliseconds{cfg.topics.dispatcher_timeout_ms};
  td.max_output_depth = cfg.topics.max_output_depth;
  td.threads = cfg.topics.threads;
  td.runner = opts.topic_runner;
  td.memory = std::make_shared<topic_dispatcher_memory>();
  td.traces = out.traces;
  auto spawn_td = [&sys, td] { return spawn_topic_dispatcher(sys, td); };
  out.topics.set(spawn_td());
  connection_manager_config cm;
  cm.node_id = opts.node_id;
  cm.incarnation = opts.incarnation;
  cm.secret = cfg.cluster.secret;
  cm.seeds = cfg.cluster.seeds;
  cm.tls = cfg.cluster.tls.enabled();
  cm.transport = opts.transport;
  cm.timing.heartbeat_interval
    = milliseconds{cfg.cluster.heartbeat_interval_ms};
  cm.timing.heartbeat_misses = cfg.cluster.heartbeat_misses;
  cm.timing.monitors = cfg.cluster.monitors;
  cm.timing.redial_initial = milliseconds{cfg.cluster.redial_initial_ms};
  cm.timing.redial_max = milliseconds{cfg.cluster.redial_max_ms};
  cm.connect_timeout = milliseconds{cfg.cluster.connect_timeout_ms};
  cm.max_reply_bytes = lim.max_payload_bytes;
  cm.serve_chunk = static_cast<int>(cfg.cluster.serve_chunk);
  cm.serve_chunk_adaptive = cfg.cluster.serve_chunk_adaptive;
  cm.registry = out.registry;
  cm.router = out.router;
  cm.strategies = out.strategies;
  cm.topics = out.topics;
  cm.tasks = out.tasks;
  cm.memory = std::make_shared<connection_manager_memory>();
  cm.traces = out.traces;
  cm.data = opts.data;
  // A successor is a new incarnation of this node to its peers (they drop
  // the old one's connection and take the new one's handshake); it follows
  // the evaluator and the topic dispatcher running now.
  auto spawn_cm = [&sys, cm, strategies = out.strategies,
                   topics = out.topics](bool first) mutable {
    if (!first)
      cm.incarnation = random_hex_token();
    // The evaluator and the topic dispatcher follow the peer tables.
    cm.subscribers = {untyped(strategies.get()), untyped(topics.get())};
    return spawn_connection_manager(sys, cm);
  };
  out.cluster.set(spawn_cm(true));
  out.gate = spawn_gate(sys, opts.node_id, out.cluster);
  out.children = {
    restartable("registry", out.registry, spawn_reg),
    restartable("router", out.router, spawn_router, out.cluster),
    restartable("strategy evaluator", out.strategies, spawn_se, out.cluster),
    restartable("topic dispatcher", out.topics, spawn_td, out.cluster),
    restartable("connection manager", out.cluster,
                [spawn_cm]() mutable { return spawn_cm(false); }),
    watched_only("gate", untyped(out.gate)),
  };
  // Durable tasks only where there are jobs: its state is its store, which
  // a successor opens again (leased tasks are then delivered again).
  if (!cfg.tasks.jobs_dir.empty()) {
    // The first one loads its jobs when the node says so (plug-ins register
    // their task functions first); a successor loads them at once.
    auto spawn_tasks = [&sys, tc = task_config(cfg, opts, out)]() mutable {
      auto a = spawn_task_dispatcher(sys, tc);
      tc.defer_load = false;
      return a;
    };
    out.tasks.set(spawn_tasks());
    out.children.push_back(restartable("task dispatcher", out.tasks, spawn_tasks));
  }
  // Workflows only where there are definitions: the runner's state is its
  // store, from which a successor resumes the runs under way.
  if (!cfg.workflows.dir.empty()) {
    const auto& w = cfg.workflows;
    workflow_runner_config wc;
    wc.node_id = opts.node_id;
    wc.workflows_dir = w.dir;
    wc.store_path = task_store_path(cfg, opts.node_id);
    wc.sync = sync_mode_of(w.synchronous);
    wc.max_payload_bytes = cfg.limits.max_payload_bytes;
    wc.max_parallel = w.max_parallel;
    wc.history = w.history;
    wc.step_deadline = milliseconds{w.step_timeout_ms};
    wc.router = out.router;
    wc.strategies = out.strategies;
    wc.topics = out.topics;
    wc.tasks = out.tasks;
    wc.traces = out.traces;
    auto spawn_wf = [&sys, wc] { return spawn_workflow_runner(sys, wc); };
    out.children.push_back(restartable("workflow runner", out.workflows, spawn_wf));
    out.start_workflows = [slot = out.workflows, spawn_wf]() mutable {
      slot.set(spawn_wf());
    };
  }
  return out;
}

} // namespace mesh
