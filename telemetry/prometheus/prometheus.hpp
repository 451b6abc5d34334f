#pragma once

// GET /metrics: the node's counters in the Prometheus text format 0.0.4.
//
// The HTTP server runs each console command of metrics_sources() with no
// arguments, puts each one's "result" (or null when it failed) under its
// name in one JSON object, and hands that object to render_prometheus. The
// renderer is pure: no actor system, no I/O, so it is tested on JSON alone.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mesh {

/// The console commands whose results render_prometheus reads, each of
/// which works without arguments: status, handlers, peers, breakers, hooks,
/// strategy_stats (every process), metrics (topic dispatchers), jobs,
/// workflows, runs.
const std::vector<std::string>& metrics_sources();

/// The Prometheus page of node `node_id`. `results[cmd]` is the "result" of
/// console command `cmd` (null or absent when it failed). Whatever is
/// missing, null or of a wrong type is left out; the page is always valid
/// exposition text and always has `mesh_node_info`. Never throws (but
/// std::bad_alloc).
///
/// Families (labels in braces):
/// - node: mesh_node_info{node,version}, mesh_node_uptime_seconds,
///   mesh_node_draining, mesh_cluster_size, mesh_cluster_peers_up,
///   mesh_handlers_registered, mesh_actor_up{actor},
///   mesh_actor_restarts_total{actor}
/// - gRPC front door {grpc_service,grpc_method}: mesh_grpc_server_started_total,
///   mesh_grpc_server_in_flight, mesh_grpc_server_handled_total{...,grpc_code},
///   mesh_grpc_server_handling_seconds (summary, quantiles 0.5 0.9 0.99)
///   (as go-grpc-prometheus names them, with our prefix)
/// - HTTP API {method,route} (routes asked at least once):
///   mesh_http_requests_total{...,code}, mesh_http_requests_in_flight,
///   mesh_http_request_duration_seconds (summary, quantiles 0.5 0.9 0.99)
/// - router: mesh_router_<event>_total (served, dispatched, forwarded,
///   retried, failed_over, rejected, hedged, hedge_wins, hedge_dropped,
///   rate_limited, hook_rejected, ejections, dry_runs, budget_exhausted),
///   mesh_router_pending
/// - handlers {namespace,service,method}:
///   mesh_handler_{calls,ok,errors,timeouts,overloaded,late_results}_total,
///   mesh_handler_in_flight, mesh_handler_queued, mesh_handler_active,
///   mesh_handler_max_concurrency, mesh_handler_max_queue,
///   mesh_handler_latency_seconds (summary, quantiles 0.5 0.9 0.99),
///   mesh_handler_latency_max_seconds
/// - peers {peer}: mesh_peer_up, mesh_peer_state{peer,state} (one series
///   per state, 1 for the current one), mesh_peer_in_flight,
///   mesh_peer_last_heartbeat_seconds; outlier detection {peer,service}:
///   mesh_peer_{failures,successes,ejections}_total, mesh_peer_ejected
/// - pipeline: mesh_hook_{calls,failed,rejected}_total{hook,stage},
///   mesh_pipeline_requests_total{path,status},
///   mesh_pipeline_request_latency_seconds{path} (summary)
/// - strategies {process,strategy,variant}: mesh_strategy_decisions_total,
///   mesh_strategy_outcomes_total{...,outcome}, mesh_strategy_posterior_mean
/// - topics: mesh_topic_publishes_total, mesh_topic_publishes_successful_total,
///   per {dispatcher}: mesh_topic_dispatcher_{executions,errors,timeouts}_total,
///   mesh_topic_dispatcher_latency_seconds (summary, 0.5 0.99)
/// - jobs {job}: mesh_job_{queued,held,in_flight,dead_letters,paused,
///   under_pressure,max_in_flight}, mesh_job_oldest_age_seconds,
///   mesh_job_{created,done,failures,skipped,expired_leases}_total,
///   mesh_job_files_failed
/// - workflows: mesh_workflow_loaded{workflow}, mesh_workflow_files_failed,
///   mesh_workflow_recent_runs{workflow,status} (among the run store's
///   latest 100 runs: the runs command's default window)
std::string render_prometheus(const nlohmann::json& results,
                              const std::string& node_id);

} // namespace mesh
