#include "protocol/json/safe_json.hpp"
#include "node/meshctl/meshctl_format.hpp"

#include <iomanip>

namespace mesh {

namespace {

std::string join(const nlohmann::json& list) {
  return list_text(list, "-");
}

void print_status(std::ostream& out, const nlohmann::json& r) {
  out << "id:         " << r.value("id", "") << "\n"
      << "listen:     " << r.value("listen", "") << "\n"
      << "console:    " << r.value("console", "") << "\n"
      << "http:       " << r.value("http", "") << "\n"
      << "uptime:     " << r.value("uptime_s", 0) << " s\n"
      << "namespaces: " << join(r.value("namespaces", nlohmann::json::array()))
      << "\n"
      << "handlers:   " << r.value("handlers", 0) << " ("
      << r.value("active_handlers", 0) << " active)\n"
      << "validator:  " << r.value("validator", "none") << "\n";
  if (r.contains("cluster_size"))
    out << "cluster:    " << r["cluster_size"] << " node(s), "
        << r.value("peers_up", 0) << " peer(s) up"
        << (r.value("tls", false) ? ", mutual TLS between nodes" : "") << "\n";
  if (r.contains("router") && r["router"].is_object()) {
    const auto& x = r["router"];
    out << "requests:   " << x.value("dispatched", 0) << " local, "
        << x.value("forwarded", 0) << " forwarded, " << x.value("served", 0)
        << " served for peers, " << x.value("rejected", 0) << " rejected\n"
        << "resilience: " << x.value("retried", 0) << " retried, "
        << x.value("hedged", 0) << " hedged (" << x.value("hedge_wins", 0)
        << " won), " << x.value("ejections", 0) << " ejections, "
        << x.value("budget_exhausted", 0) << " retries refused by budget, "
        << x.value("rate_limited", 0) << " rate-limited\n"
        << "to peers:   " << x.value("batched", 0) << " requests in "
        << x.value("batches", 0) << " batches, "
        << x.value("data_plane_batches", 0) << " of them on "
        << x.value("data_plane_links", 0) << " data link(s)";
    if (auto n = r.value("data_links_redialled", 0); n > 0)
      out << ", " << n << " asked for again after a failure";
    if (auto n = x.value("data_plane_callers", 0); n > 0)
      out << ", " << n << " caller(s) declared non-blocking";
    if (auto n = x.value("data_plane_stalls", 0); n > 0)
      out << ", its thread held up " << n << " time(s) (see the log)";
    out << "\n";
  }
  if (r.contains("grpc_calls") && r["grpc_calls"].is_array()) {
    uint64_t started = 0, ok = 0, in_flight = 0;
    for (const auto& m : r["grpc_calls"]) {
      started += m.value("started", uint64_t{0});
      in_flight += m.value("in_flight", uint64_t{0});
      ok += m.value("handled", nlohmann::json::object())
              .value("OK", uint64_t{0});
    }
    out << "grpc:       " << started << " calls (" << ok << " OK, "
        << in_flight << " in flight)\n";
  }
  // One line for the node's actors; a line more for each that restarted.
  auto actors = r.value("actors", nlohmann::json::array());
  if (actors.empty())
    return;
  size_t running = 0;
  for (const auto& a : actors)
    if (a.value("health", "") == "running")
      ++running;
  out << "actors:     " << running << " of " << actors.size() << " running\n";
  for (const auto& a : actors)
    if (a.value("restarts", 0) > 0 || a.value("health", "") != "running")
      out << "  " << a.value("name", "") << ": " << a.value("health", "")
          << ", " << a.value("restarts", 0) << " restart(s), last: "
          << a.value("last_failure", "-") << "\n";
}

void print_handlers(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(44) << "HANDLER" << std::setw(9) << "KIND"
      << std::setw(8) << "ACTIVE" << std::setw(10) << "CALLS"
      << std::setw(8) << "ERRORS" << std::setw(9) << "TIMEOUTS"
      << "P50_US\n";
  for (const auto& h : list) {
    const auto& st = h.value("stats", nlohmann::json::object());
    auto latency = st.value("latency", nlohmann::json::object());
    out << std::left << std::setw(44) << h.value("handler", "")
        << std::setw(9) << h.value("kind", "") << std::setw(8)
        << (h.value("active", false) ? "yes" : "no") << std::setw(10)
        << st.value("calls", 0) << std::setw(8) << st.value("errors", 0)
        << std::setw(9) << st.value("timeouts", 0)
        << latency.value("p50_us", 0.0) << "\n";
  }
}

void print_peers(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(22) << "ID" << std::setw(22) << "ADDRESS"
      << std::setw(9) << "STATE" << std::setw(20) << "CONNECTION"
      << std::setw(10) << "IN_FLIGHT" << std::setw(12) << "HEARTBEAT"
      << "SHARED\n";
  for (const auto& p : list)
    out << std::left << std::setw(22) << p.value("id", "") << std::setw(22)
        << p.value("address", "") << std::setw(9) << p.value("state", "")
        << std::setw(20) << p.value("connection_id", "") << std::setw(10)
        << p.value("in_flight", 0) << std::setw(12)
        // A peer this node does not watch (the heartbeat ring) beats
        // others: its state comes from their reports.
        << (p.value("watched", true)
              ? std::to_string(p.value("last_heartbeat_ms", 0)) + " ms ago"
              : std::string{"by reports"})
        << join(p.value("shared_namespaces", nlohmann::json::array()))
        << "\n";
  if (list.empty())
    out << "(no peers)\n";
}

void print_dispatch(std::ostream& out, const nlohmann::json& r) {
  out << "status:     ok\n"
      << "handled_by: " << r.value("handled_by", "") << "\n"
      << "trace_id:   " << r.value("trace_id", "") << "\n";
  bool dry = r.contains("explain") && r["explain"].value("dry_run", false);
  if (r.contains("payload") && !dry) // a dry run has no answer
    out << "payload:    " << mesh::dump_json(r["payload"]) << "\n";
  if (r.contains("explain"))
    print_explain(out, r["explain"]);
}

void print_process(std::ostream& out, const nlohmann::json& r) {
  out << "status:     ok\n"
      << "process:    " << r.value("process", "") << "\n"
      << "variant:    " << r.value("variant", "") << " ("
      << r.value("variant_path", "") << ")\n"
      << "strategy:   " << r.value("strategy", "") << ": "
      << r.value("reason", "") << "\n"
      << "handled_by: " << r.value("handled_by", "") << "\n"
      << "trace_id:   " << r.value("trace_id", "") << "\n";
  if (r.contains("payload"))
    out << "payload:    " << mesh::dump_json(r["payload"]) << "\n";
}

void print_manifests(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(26) << "PROCESS" << std::setw(20)
      << "STRATEGY" << std::setw(10) << "VARIANTS" << "STATUS\n";
  for (const auto& m : list) {
    out << std::left << std::setw(26) << m.value("process", "")
        << std::setw(20) << m.value("strategy", "-") << std::setw(10)
        << m.value("variants", 0) << m.value("status", "") << "\n";
    if (m.contains("error"))
      out << "  " << m["error"].get<std::string>() << "\n";
  }
  if (list.empty())
    out << "(no manifests)\n";
}

void print_reload(std::ostream& out, const nlohmann::json& r) {
  out << "loaded:  " << join(r.value("loaded", nlohmann::json::array()))
      << "\n"
      << "removed: " << join(r.value("removed", nlohmann::json::array()))
      << "\n"
      << "kept (last good version): "
      << join(r.value("kept", nlohmann::json::array())) << "\n";
  if (r.contains("error"))
    out << "error:   " << r["error"].get<std::string>() << "\n";
  for (const auto& f : r.value("failed", nlohmann::json::array()))
    out << "failed:  " << f.value("text", "") << "\n";
}

void print_strategy_stats(std::ostream& out, const nlohmann::json& r) {
  out << r.value("process", "") << " (" << r.value("strategy", "") << ") on "
      << r.value("node", "") << ": " << r.value("decisions", 0)
      << " decision(s)\n";
  out << std::left << std::setw(20) << "VARIANT" << std::setw(10)
      << "TRAFFIC" << std::setw(8) << "SHARE";
  bool bandit = r.value("strategy", "") == "thompson_bandit";
  if (bandit)
    out << std::setw(11) << "SUCCESSES" << std::setw(10) << "FAILURES"
        << "POSTERIOR_MEAN";
  out << "\n";
  for (const auto& v : r.value("variants", nlohmann::json::array())) {
    out << std::left << std::setw(20) << v.value("variant", "")
        << std::setw(10) << v.value("traffic", 0) << std::setw(8)
        << std::fixed << std::setprecision(3) << v.value("share", 0.0);
    if (bandit)
      out << std::setw(11) << v.value("successes", 0) << std::setw(10)
          << v.value("failures", 0) << v.value("posterior_mean", 0.0);
    out << "\n";
  }
}

void print_publish(std::ostream& out, const nlohmann::json& r) {
  out << "status:      " << r.value("status", "") << "\n"
      << "dispatch_id: " << r.value("dispatch_id", "") << "\n"
      << "trace_id:    " << r.value("trace_id", "") << "\n"
      << "duration:    " << r.value("duration_us", 0) << " us\n"
      << "outputs:     " << join(r.value("outputs", nlohmann::json::array()))
      << "\n";
  if (!r.value("error", "").empty())
    out << "error:       " << r.value("error", "") << "\n";
  for (const auto& d : r.value("dispatchers", nlohmann::json::array()))
    out << "  " << std::left << std::setw(24) << d.value("dispatcher_id", "")
        << std::setw(18) << d.value("node", "") << std::setw(17)
        << d.value("status", "") << d.value("duration_us", 0) << " us\n";
}

void print_routes(std::ostream& out, const nlohmann::json& r) {
  out << std::left << std::setw(22) << "ROUTE" << std::setw(26) << "PATTERN"
      << std::setw(9) << "CATEGORY" << std::setw(22) << "DISPATCHER"
      << std::setw(14) << "TYPE" << std::setw(9) << "ENABLED" << "NODE\n";
  for (const auto& x : r.value("routes", nlohmann::json::array()))
    out << std::left << std::setw(22) << x.value("route_id", "")
        << std::setw(26) << x.value("pattern", "") << std::setw(9)
        << x.value("category", "") << std::setw(22)
        << x.value("dispatcher_id", "") << std::setw(14)
        << (x.value("message_type", "").empty() ? "*" : x.value("message_type", ""))
        << std::setw(9) << (x.value("enabled", false) ? "yes" : "no")
        << x.value("node", "") << "\n";
  if (r.value("frozen", false))
    out << "(this node's routes are frozen)\n";
}

void print_metrics(std::ostream& out, const nlohmann::json& r) {
  out << "publishes: " << r.value("publishes", 0) << ", success rate "
      << std::fixed << std::setprecision(3) << r.value("success_rate", 0.0)
      << "\n";
  out << std::left << std::setw(24) << "DISPATCHER" << std::setw(12)
      << "EXECUTIONS" << std::setw(8) << "ERRORS" << std::setw(10)
      << "TIMEOUTS" << std::setw(11) << "ERROR_RATE" << std::setw(10)
      << "MEAN_US" << std::setw(10) << "P50_US" << "P99_US\n";
  for (const auto& d : r.value("dispatchers", nlohmann::json::array())) {
    auto lat = d.value("latency_us", nlohmann::json::object());
    out << std::left << std::setw(24) << d.value("dispatcher_id", "")
        << std::setw(12) << d.value("executions", 0) << std::setw(8)
        << d.value("errors", 0) << std::setw(10) << d.value("timeouts", 0)
        << std::setw(11) << d.value("error_rate", 0.0) << std::setw(10)
        << lat.value("mean", 0.0) << std::setw(10) << lat.value("p50", 0.0)
        << lat.value("p99", 0.0) << "\n";
  }
}

void print_records(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(28) << "TOPIC" << std::setw(9) << "CATEGORY"
      << std::setw(16) << "TYPE" << std::setw(34) << "TRACE_ID" << "PAYLOAD\n";
  for (const auto& m : list)
    out << std::left << std::setw(28) << m.value("topic", "") << std::setw(9)
        << m.value("category", "") << std::setw(16)
        << (m.value("message_type", "").empty() ? "-"
                                                : m.value("message_type", ""))
        << std::setw(34) << m.value("trace_id", "")
        << (m.contains("payload") ? mesh::dump_json(m["payload"]) : "-")
        << "\n";
  if (list.empty())
    out << "(no records)\n";
}

std::string scalar_text(const nlohmann::json& x) {
  if (x.is_string())
    return x.get<std::string>();
  if (x.is_null())
    return "-";
  return mesh::dump_json(x);
}

bool is_scalar_list(const nlohmann::json& x) {
  if (!x.is_array())
    return false;
  for (const auto& item : x)
    if (item.is_structured())
      return false;
  return true;
}

} // namespace

std::string list_text(const nlohmann::json& list, const std::string& none) {
  std::string out;
  if (list.is_array())
    for (const auto& x : list)
      out += (out.empty() ? "" : ", ")
             + (x.is_string() ? x.get<std::string>() : dump_json(x));
  return out.empty() ? none : out;
}

void print_fields(std::ostream& out, const nlohmann::json& value,
                  int indent) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (value.is_object()) {
    if (value.empty())
      out << pad << "(none)\n";
    for (const auto& [key, x] : value.items()) {
      if (!x.is_structured() || is_scalar_list(x) || x.empty()) {
        out << pad << key << ": "
            << (x.is_array() ? join(x) : scalar_text(x)) << "\n";
        continue;
      }
      out << pad << key << ":\n";
      print_fields(out, x, indent + 2);
    }
  } else if (value.is_array()) {
    if (is_scalar_list(value)) {
      out << pad << join(value) << "\n";
      return;
    }
    size_t n = 0;
    for (const auto& x : value) {
      out << pad << "[" << ++n << "]\n";
      print_fields(out, x, indent + 2);
    }
  } else {
    out << pad << scalar_text(value) << "\n";
  }
}

void print_human(std::ostream& out, const std::string& command,
                 const nlohmann::json& result) {
  if (print_task_human(out, command, result)
      || print_pipeline_human(out, command, result))
    return;
  if (command == "status")
    print_status(out, result);
  else if (command == "handlers")
    print_handlers(out, result);
  else if (command == "peers")
    print_peers(out, result);
  else if (command == "dispatch" || command == "serve")
    print_dispatch(out, result);
  else if (command == "process")
    print_process(out, result);
  else if (command == "manifests" && result.is_array())
    print_manifests(out, result);
  else if (command == "manifests" && result.contains("loaded"))
    print_reload(out, result);
  else if (command == "manifests")
    print_fields(out, result);
  else if (command == "strategy_stats")
    print_strategy_stats(out, result);
  else if (command == "outcome")
    out << "recorded " << (result.value("success", false) ? "success" : "failure")
        << " of " << result.value("process", "") << "/"
        << result.value("variant", "") << "\n";
  else if (command == "publish")
    print_publish(out, result);
  else if (command == "routes")
    print_routes(out, result);
  else if (command == "metrics")
    print_metrics(out, result);
  else if (command == "connect")
    out << "connected to " << result.value("peer", "") << " at "
        << result.value("address", "") << " (connection "
        << result.value("connection_id", "") << ", shared: "
        << join(result.value("shared_namespaces", nlohmann::json::array()))
        << ")\n";
  else if (command == "leave")
    out << "node " << result.value("leaving", "") << " is leaving\n";
  else if (command == "remove")
    out << "removed " << result.value("removed", "") << "\n";
  else if (command == "validator")
    out << "validator: " << result.value("validator", "none") << "\n";
  else if (command == "records")
    print_records(out, result);
  else if (command == "route")
    out << "route " << result.value("route", "") << " "
        << (result.value("enabled", false) ? "enabled" : "disabled") << "\n";
  else if (command == "freeze")
    out << "routes of this node frozen: later registrations fail\n";
  else if (command == "inject_failure")
    out << "killed " << result.value("killed", "") << "\n";
  else if (print_trace_human(out, command, result))
    return;
  else if (result.is_object() && result.empty())
    out << "ok\n";
  else
    print_fields(out, result);
}

void print_failure(std::ostream& out, const nlohmann::json& reply) {
  const auto& r = reply.contains("result") && reply["result"].is_object()
                    ? reply["result"]
                    : nlohmann::json::object();
  if (r.contains("dispatch_id")) { // a publish that did not succeed
    print_publish(out, r);
    return;
  }
  out << "status:     " << reply.value("status", "internal") << "\n";
  for (const char* key : {"handled_by", "variant", "trace_id"})
    if (r.contains(key) && r[key].is_string() && !r[key].get<std::string>().empty())
      out << std::left << std::setw(12) << (std::string{key} + ":")
          << r[key].get<std::string>() << "\n";
  out << "error:      " << reply.value("error", "") << "\n";
  if (r.contains("explain"))
    print_explain(out, r["explain"]);
  // A reload that failed: which files, and why.
  for (const auto& f : r.value("failed", nlohmann::json::array()))
    out << "failed:     " << f.value("text", f.value("file", "")) << "\n";
  for (const auto& w : r.value("warnings", nlohmann::json::array()))
    if (w.is_object() && w.contains("text") && w["text"].is_string())
      out << "warning:    " << w["text"].get<std::string>() << "\n";
}

} // namespace mesh
