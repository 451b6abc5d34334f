#include "actors/node_actors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/cluster/connection_manager.hpp"
#include "actors/cluster/gate.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "actors/routing/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "protocol/type_ids.hpp"

namespace mesh {

std::vector<caf::actor> node_actors::all() const {
  return {caf::actor_cast<caf::actor>(topics),
          caf::actor_cast<caf::actor>(strategies),
          caf::actor_cast<caf::actor>(gate),
          caf::actor_cast<caf::actor>(cluster),
          caf::actor_cast<caf::actor>(router),
          caf::actor_cast<caf::actor>(registry)};
}

node_actors spawn_node_actors(caf::actor_system& sys, const node_config& cfg,
                              const node_actors_options& opts) {
  using std::chrono::milliseconds;
  node_actors out;
  const auto& lim = cfg.limits;
  registry_config rc;
  rc.node_id = opts.node_id;
  rc.namespaces = cfg.namespaces;
  rc.max_concurrency = lim.max_concurrency;
  rc.max_queue = lim.max_queue;
  rc.default_deadline = milliseconds{lim.default_deadline_ms};
  rc.max_deadline = milliseconds{lim.max_deadline_ms};
  out.registry = spawn_registry(sys, rc);
  router_config ro;
  ro.node_id = opts.node_id;
  ro.max_payload_bytes = lim.max_payload_bytes;
  ro.max_hops = lim.max_hops;
  ro.default_deadline = milliseconds{lim.default_deadline_ms};
  ro.max_deadline = milliseconds{lim.max_deadline_ms};
  ro.load_balancing = cfg.cluster.load_balancing;
  ro.registry = out.registry;
  out.router = spawn_request_router(sys, ro);
  strategy_evaluator_config se;
  se.node_id = opts.node_id;
  se.manifests_dir = cfg.manifests_dir;
  se.data_dir = cfg.data_dir;
  se.router = caf::actor_cast<caf::actor>(out.router);
  se.deadline = milliseconds{lim.default_deadline_ms};
  out.strategies = spawn_strategy_evaluator(sys, se);
  topic_dispatcher_config td;
  td.node_id = opts.node_id;
  td.router = caf::actor_cast<caf::actor>(out.router);
  td.dispatcher_timeout = milliseconds{cfg.topics.dispatcher_timeout_ms};
  td.max_output_depth = cfg.topics.max_output_depth;
  td.threads = cfg.topics.threads;
  td.runner = opts.topic_runner;
  out.topics = spawn_topic_dispatcher(sys, td);
  connection_manager_config cm;
  cm.node_id = opts.node_id;
  cm.incarnation = opts.incarnation;
  cm.secret = cfg.cluster.secret;
  cm.seeds = cfg.cluster.seeds;
  cm.tls = cfg.cluster.tls.enabled();
  cm.timing.heartbeat_interval
    = milliseconds{cfg.cluster.heartbeat_interval_ms};
  cm.timing.heartbeat_misses = cfg.cluster.heartbeat_misses;
  cm.timing.redial_initial = milliseconds{cfg.cluster.redial_initial_ms};
  cm.timing.redial_max = milliseconds{cfg.cluster.redial_max_ms};
  cm.connect_timeout = milliseconds{cfg.cluster.connect_timeout_ms};
  cm.registry = out.registry;
  cm.router = caf::actor_cast<caf::actor>(out.router);
  cm.strategies = caf::actor_cast<caf::actor>(out.strategies);
  cm.topics = caf::actor_cast<caf::actor>(out.topics);
  // The evaluator and the topic dispatcher follow the cluster's peer tables.
  cm.subscribers = {caf::actor_cast<caf::actor>(out.strategies),
                    caf::actor_cast<caf::actor>(out.topics)};
  out.cluster = spawn_connection_manager(sys, cm);
  out.gate = spawn_gate(sys, opts.node_id,
                        caf::actor_cast<caf::actor>(out.cluster));
  return out;
}

} // namespace mesh
