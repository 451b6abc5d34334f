#pragma once

// http_counter: the HTTP API's requests, counted by verb, route and status
// and timed from routing to the answer written, for the node's status and
// /metrics (mesh_http_requests_total and mesh_http_request_duration_seconds).
//
// Routes are a fixed set, so a client cannot grow the page by asking for
// made-up paths: "/", "/healthz", "/readyz", "/metrics", "/v1/<command>" for
// each console command, the aliases "/v1/workflows/{name}", "/v1/runs/{id}",
// "/v1/runs/{id}/cancel", "/v1/jobs/{id}", "/v1/traces/{id}"; any other path
// is "other". Verbs are GET and POST; any other is "other". Statuses are the
// ones the API answers (200, 400, 401, 403, 404, 405, 408, 413, 414, 429,
// 500, 503, 504); any other is "other".
//
// started() and answered() run in the server's thread that takes the
// request (httplib handles a request in one thread, from routing to the
// log): the start time and the route (found once) wait in that thread
// between them. A request httplib refuses before routing (a malformed
// request line) is counted when it is answered, with no duration.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "telemetry/call_counts.hpp"

namespace mesh {

class http_counter {
public:
  /// `commands`: the console's commands (console_command_names()).
  explicit http_counter(const std::vector<std::string>& commands);

  /// The request was routed (the pre-routing handler).
  void started(const std::string& verb, const std::string& path);

  /// The request was answered with HTTP status `status` (the logger).
  void answered(const std::string& verb, const std::string& path, int status);

  /// The routes asked at least once: [{"verb": V, "route": R, "started": n,
  /// "in_flight": n, "handled": {"200": n, ...}, "latency": {...}}, ...].
  nlohmann::json to_json() const;

  /// The route label of a path ("other" when none).
  std::string route_of(const std::string& verb, const std::string& path) const;

private:
  size_t index_of(const std::string& verb, const std::string& path) const;

  std::vector<call_counts::method_name> routes_;
  std::vector<std::string> commands_; ///< sorted
  std::unique_ptr<call_counts> counts_;
};

} // namespace mesh
