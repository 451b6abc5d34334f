// The Prometheus page, written directly in the text format rather than with
// prometheus-cpp (Debian's prometheus-cpp-dev). The node's actors already
// keep every counter and histogram and report them as JSON to the console;
// prometheus-cpp would add a registry of its own beside them, to be kept in
// step on every change, or rebuilt on every scrape. The text format is a
// page of "name{labels} value" lines, written here in one small file
// (telemetry/prometheus/prometheus_text.cpp), with no new dependency to build, package
// and install.
//
// Latencies are `summary` families, not histograms: the node reports its
// log-linear histograms (telemetry/latency_histogram.hpp) as quantiles, and
// their 512 buckets per handler would be far too many series. The quantiles
// cover everything since the node started; aggregate across nodes with
// _sum / _count (the mean), not by averaging quantiles.

#include "telemetry/prometheus/prometheus.hpp"

#include "protocol/version.hpp"
#include "telemetry/prometheus/prometheus_parts.hpp"

namespace mesh {

namespace {

using nlohmann::json;
using namespace detail;

// -- node, actors, router (status) ---------------------------------------------

void render_node(prom_writer& out, const json& status) {
  put(out, {"mesh_node_uptime_seconds", "gauge", "Seconds since the node started"},
      {}, status, "uptime_s");
  put(out, {"mesh_cluster_size", "gauge", "Members of the cluster this node sees, itself included"},
      {}, status, "cluster_size");
  put(out, {"mesh_cluster_peers_up", "gauge", "Peers in state up"}, {}, status, "peers_up");
  put(out, {"mesh_handlers_registered", "gauge", "Handlers registered on this node"},
      {}, status, "handlers");
  for (const auto& a : items(at(status, "actors"))) {
    auto name = text(at(a, "name"));
    if (name.empty())
      continue;
    auto health = at(a, "health");
    if (health.is_string())
      out.add({"mesh_actor_up", "gauge", "1 while the node's actor runs, else 0"},
              {{"actor", name}}, health == "running" ? 1 : 0);
    put(out, {"mesh_actor_restarts_total", "counter", "Restarts of the node's actor by its supervisor"},
        {{"actor", name}}, a, "restarts");
  }
  const auto& router = at(status, "router");
  put(out, {"mesh_node_draining", "gauge", "1 while the node drains for shutdown"},
      {}, router, "draining");
  static const std::pair<const char*, prom_family> counters[] = {
    {"served", {"mesh_router_served_total", "counter", "Requests served here for a peer"}},
    {"dispatched", {"mesh_router_dispatched_total", "counter", "Requests dispatched from this node"}},
    {"forwarded", {"mesh_router_forwarded_total", "counter", "Attempts sent to a peer"}},
    {"retried", {"mesh_router_retried_total", "counter", "Retry attempts"}},
    {"failed_over", {"mesh_router_failed_over_total", "counter", "Attempts moved to another node after a failure"}},
    {"rejected", {"mesh_router_rejected_total", "counter", "Requests refused before any attempt"}},
    {"hedged", {"mesh_router_hedged_total", "counter", "Hedge attempts sent"}},
    {"hedge_wins", {"mesh_router_hedge_wins_total", "counter", "Requests answered first by the hedge"}},
    {"hedge_dropped", {"mesh_router_hedge_dropped_total", "counter", "Hedges not sent (no other node or budget)"}},
    {"rate_limited", {"mesh_router_rate_limited_total", "counter", "Requests refused by a rate limit"}},
    {"hook_rejected", {"mesh_router_hook_rejected_total", "counter", "Requests refused by a pipeline hook"}},
    {"ejections", {"mesh_router_ejections_total", "counter", "Peer and service pairs ejected by outlier detection"}},
    {"dry_runs", {"mesh_router_dry_runs_total", "counter", "Dry-run requests"}},
    {"budget_exhausted", {"mesh_router_budget_exhausted_total", "counter", "Retries or hedges refused by the retry budget"}},
  };
  for (const auto& [key, family] : counters)
    put(out, family, {}, router, key);
  put(out, {"mesh_router_pending", "gauge", "Requests the router is waiting on"},
      {}, router, "pending");
}

// -- the front doors (status' grpc_calls and http_requests) ---------------------

// How one door's rows (call_counts::to_json()) become families.
struct door_families {
  const char* first_key;  ///< a row's first name, and its label
  const char* first_label;
  const char* second_key;
  const char* second_label;
  const char* code_label;
  prom_family started;    ///< name null: not rendered
  prom_family in_flight;
  prom_family handled;
  prom_family duration;
};

void render_door(prom_writer& out, const json& rows, const door_families& f) {
  for (const auto& m : items(rows)) {
    auto first = text(at(m, f.first_key));
    auto second = text(at(m, f.second_key));
    if (first.empty() || second.empty())
      continue;
    prom_labels labels{{f.first_label, first}, {f.second_label, second}};
    if (f.started.name != nullptr)
      put(out, f.started, labels, m, "started");
    put(out, f.in_flight, labels, m, "in_flight");
    for (const auto& [code, n] : entries(at(m, "handled")).items()) {
      auto x = number(n);
      if (!x)
        continue;
      auto with_code = labels;
      with_code.emplace_back(f.code_label, code);
      out.add(f.handled, with_code, *x);
    }
    put_latency(out, f.duration, labels, at(m, "latency"));
  }
}

const door_families grpc_families{
  "service", "grpc_service", "method", "grpc_method", "grpc_code",
  {"mesh_grpc_server_started_total", "counter", "gRPC calls the front door began"},
  {"mesh_grpc_server_in_flight", "gauge", "gRPC calls the front door has not answered yet"},
  {"mesh_grpc_server_handled_total", "counter", "gRPC calls the front door answered, by gRPC code"},
  {"mesh_grpc_server_handling_seconds", "summary", "gRPC call duration at the front door, from its start to its answer"}};

const door_families http_families{
  "verb", "method", "route", "route", "code",
  {nullptr, nullptr, nullptr},
  {"mesh_http_requests_in_flight", "gauge", "HTTP requests routed and not yet answered"},
  {"mesh_http_requests_total", "counter", "HTTP requests answered, by status"},
  {"mesh_http_request_duration_seconds", "summary", "HTTP request duration, from routing to the answer written"}};

// -- handlers -------------------------------------------------------------------

// {namespace, service, method} of a handler row, from its fields or else its
// path "namespace/Service/Method"; empty when it has neither.
prom_labels handler_labels(const json& h) {
  std::string parts[3] = {text(at(h, "namespace")), text(at(h, "service")),
                          text(at(h, "method"))};
  if (parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    auto path = text(at(h, "handler"));
    if (path.empty())
      path = text(at(at(h, "stats"), "handler"));
    auto a = path.find('/');
    auto b = a == std::string::npos ? a : path.find('/', a + 1);
    if (b == std::string::npos)
      return {};
    parts[0] = path.substr(0, a);
    parts[1] = path.substr(a + 1, b - a - 1);
    parts[2] = path.substr(b + 1);
  }
  return {{"namespace", parts[0]}, {"service", parts[1]}, {"method", parts[2]}};
}

void render_handlers(prom_writer& out, const json& handlers) {
  static const std::pair<const char*, prom_family> counters[] = {
    {"calls", {"mesh_handler_calls_total", "counter", "Calls of the handler on this node"}},
    {"ok", {"mesh_handler_ok_total", "counter", "Calls that succeeded"}},
    {"errors", {"mesh_handler_errors_total", "counter", "Calls that failed (timeouts and overloads aside)"}},
    {"timeouts", {"mesh_handler_timeouts_total", "counter", "Calls past their deadline"}},
    {"overloaded", {"mesh_handler_overloaded_total", "counter", "Calls refused: concurrency and queue full"}},
    {"late_results", {"mesh_handler_late_results_total", "counter", "Results that came after the caller gave up"}},
  };
  static const std::pair<const char*, prom_family> gauges[] = {
    {"running", {"mesh_handler_in_flight", "gauge", "Calls running now"}},
    {"queued", {"mesh_handler_queued", "gauge", "Calls waiting for a slot"}},
    {"max_concurrency", {"mesh_handler_max_concurrency", "gauge", "Calls allowed to run at once"}},
    {"max_queue", {"mesh_handler_max_queue", "gauge", "Calls allowed to wait"}},
  };
  static const prom_family latency{"mesh_handler_latency_seconds", "summary",
                                   "Handler call duration on this node since it started"};
  for (const auto& h : items(handlers)) {
    const auto& stats = at(h, "stats");
    auto labels = handler_labels(h);
    if (labels.empty())
      continue;
    put(out, {"mesh_handler_active", "gauge", "1 when the handler takes calls"},
        labels, h, "active");
    for (const auto& [key, family] : counters)
      put(out, family, labels, stats, key);
    for (const auto& [key, family] : gauges)
      put(out, family, labels, stats, key);
    const auto& lat = at(stats, "latency");
    if (!put_latency(out, latency, labels, lat))
      continue;
    put(out, {"mesh_handler_latency_max_seconds", "gauge", "Longest handler call since the node started"},
        labels, lat, "max_us", us_per_s);
  }
}

// -- peers and outlier detection -------------------------------------------------

void render_peers(prom_writer& out, const json& peers, const json& status,
                  const json& breakers) {
  static const prom_family in_flight{"mesh_peer_in_flight", "gauge",
                                     "Requests out to the peer"};
  if (peers.is_array()) {
    for (const auto& p : peers) {
      auto id = text(at(p, "id"));
      if (id.empty())
        continue;
      auto state = text(at(p, "state"));
      out.add({"mesh_peer_up", "gauge", "1 while the peer is up, else 0"},
              {{"peer", id}}, state == "up" ? 1 : 0);
      for (const char* s : {"joining", "up", "suspect", "down", "left"})
        out.add({"mesh_peer_state", "gauge", "1 for the peer's current membership state"},
                {{"peer", id}, {"state", s}}, state == s ? 1 : 0);
      put(out, in_flight, {{"peer", id}}, p, "in_flight");
      // Only for peers this node watches (the heartbeat ring): the others
      // beat their own watchers, and a growing silence here means nothing.
      if (at(p, "watched") != json(false))
        put(out, {"mesh_peer_last_heartbeat_seconds", "gauge", "Seconds since the peer was last heard (peers this node watches)"},
            {{"peer", id}}, p, "last_heartbeat_ms", ms_per_s);
    }
  } else { // no cluster manager: the router still counts requests out
    for (const auto& [id, n] : entries(at(at(status, "router"), "in_flight")).items())
      if (auto x = number(n))
        out.add(in_flight, {{"peer", id}}, *x);
  }
  for (const auto& b : items(breakers)) {
    auto peer = text(at(b, "node"));
    if (peer.empty())
      continue;
    prom_labels labels{{"peer", peer}, {"service", text(at(b, "service"))}};
    put(out, {"mesh_peer_failures_total", "counter", "Attempts the peer could not serve (outlier detection)"},
        labels, b, "failures");
    put(out, {"mesh_peer_successes_total", "counter", "Attempts the peer served (outlier detection)"},
        labels, b, "successes");
    put(out, {"mesh_peer_ejections_total", "counter", "Times the peer was ejected for the service"},
        labels, b, "times_ejected");
    auto state = at(b, "state");
    if (state.is_string())
      out.add({"mesh_peer_ejected", "gauge", "1 while the peer is ejected for the service"},
              labels, state == "ejected" ? 1 : 0);
  }
}

// -- pipeline hooks ---------------------------------------------------------------

void render_hooks(prom_writer& out, const json& hooks) {
  for (const auto& h : items(at(hooks, "hooks"))) {
    auto name = text(at(h, "name"));
    if (name.empty())
      continue;
    prom_labels labels{{"hook", name}, {"stage", text(at(h, "stage"))}};
    put(out, {"mesh_hook_calls_total", "counter", "Pipeline hook calls"}, labels, h, "calls");
    put(out, {"mesh_hook_failed_total", "counter", "Pipeline hook calls that failed"}, labels, h, "failed");
    put(out, {"mesh_hook_rejected_total", "counter", "Requests a pipeline hook refused"}, labels, h, "rejected");
  }
  for (const auto& [path, m] : entries(at(hooks, "metrics")).items()) {
    for (const auto& [status, n] : entries(at(m, "statuses")).items())
      if (auto x = number(n))
        out.add({"mesh_pipeline_requests_total", "counter",
                 "Requests seen by the metrics hook, by path and status"},
                {{"path", path}, {"status", status}}, *x);
    put_latency(out, {"mesh_pipeline_request_latency_seconds", "summary",
                      "Request duration seen by the metrics hook (attempts and retries included)"},
                {{"path", path}}, at(m, "latency"));
  }
}

} // namespace

const std::vector<std::string>& metrics_sources() {
  static const std::vector<std::string> names{
    "status", "handlers", "peers", "breakers", "hooks", "strategy_stats",
    "metrics", "jobs", "workflows", "runs"};
  return names;
}

std::string render_prometheus(const json& results, const std::string& node_id) {
  prom_writer out;
  out.add({"mesh_node_info", "gauge", "Mesh node identity; always 1"},
          {{"node", node_id}, {"version", mesh_version}}, 1);
  auto result = [&](const char* cmd) -> const json& { return at(results, cmd); };
  // Each part on its own: whatever a part meets, the others still render.
  auto part = [&](auto&& fn) {
    try {
      fn();
    } catch (const json::exception&) {
      // A shape no part expected: render_prometheus must not fail a scrape.
    }
  };
  part([&] { render_node(out, result("status")); });
  part([&] {
    render_door(out, at(result("status"), "grpc_calls"), grpc_families);
  });
  part([&] {
    render_door(out, at(result("status"), "http_requests"), http_families);
  });
  part([&] { render_handlers(out, result("handlers")); });
  part([&] {
    render_peers(out, result("peers"), result("status"), result("breakers"));
  });
  part([&] { render_hooks(out, result("hooks")); });
  part([&] { render_strategies(out, result("strategy_stats")); });
  part([&] { render_topics(out, result("metrics")); });
  part([&] { render_jobs(out, result("jobs")); });
  part([&] { render_workflows(out, result("workflows"), result("runs")); });
  return out.str();
}

} // namespace mesh
