#define CAF_SUITE http.counter
#include "check.hpp"

// The HTTP API's request counts (http/http_counter.hpp): a fixed set of
// routes whatever the paths asked, statuses by number, and the page
// render_prometheus makes of them.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/console/console.hpp"
#include "http/http_counter.hpp"
#include "telemetry/prometheus/prometheus.hpp"

using mesh::http_counter;
using nlohmann::json;

namespace {

http_counter counter() {
  return http_counter{{"status", "dispatch", "peers"}};
}

// The row of (verb, route) in to_json(); null when it has none.
json row(const json& rows, const std::string& verb, const std::string& route) {
  for (const auto& r : rows)
    if (r["verb"] == verb && r["route"] == route)
      return r;
  return nullptr;
}

bool has_line(const std::string& page, const std::string& line) {
  return ("\n" + page).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

CAF_TEST(paths map to a fixed set of routes) {
  auto c = counter();
  std::vector<std::vector<std::string>> cases{
    {"GET", "/", "/"},
    {"GET", "/healthz", "/healthz"},
    {"GET", "/readyz", "/readyz"},
    {"GET", "/metrics", "/metrics"},
    {"GET", "/v1/status", "/v1/status"},
    {"POST", "/v1/status", "/v1/status"},
    {"POST", "/v1/dispatch", "/v1/dispatch"},
    {"GET", "/v1/workflows/price_check", "/v1/workflows/{name}"},
    {"GET", "/v1/runs/r-1", "/v1/runs/{id}"},
    {"POST", "/v1/runs/r-1/cancel", "/v1/runs/{id}/cancel"},
    {"GET", "/v1/jobs/j-9", "/v1/jobs/{id}"},
    {"GET", "/v1/traces/abc", "/v1/traces/{id}"},
    // Everything else is "other": unknown commands, deeper or empty
    // segments, other verbs, made-up paths.
    {"GET", "/v1/no_such_command", "other"},
    {"POST", "/v1/", "other"},
    {"GET", "/v1/status/extra", "other"},
    {"GET", "/v1/runs/", "other"},
    {"GET", "/v1/runs/r-1/cancel", "other"},
    {"POST", "/v1/runs/r-1/stop", "other"},
    {"POST", "/v1/runs//cancel", "other"},
    {"POST", "/metrics", "other"},
    {"GET", "/etc/passwd", "other"},
    {"GET", "", "other"},
    {"DELETE", "/v1/status", "other"},
    {"get", "/v1/status", "other"},
    {"GET", std::string(100000, '/'), "other"},
    {"GET", "/v1/stat\xff", "other"}};
  for (const auto& x : cases) {
    CAF_MESSAGE(x[0] << " " << x[1].substr(0, 40));
    CAF_CHECK_EQUAL(c.route_of(x[0], x[1]), x[2]);
  }
}

CAF_TEST(requests are counted by verb route and status) {
  auto c = counter();
  CAF_CHECK_EQUAL(c.to_json(), json::array()); // nothing asked: no rows
  for (int i = 0; i < 3; ++i) {
    c.started("GET", "/v1/status");
    c.answered("GET", "/v1/status", i == 0 ? 401 : 200);
  }
  c.started("POST", "/v1/dispatch"); // not answered yet
  c.started("GET", "/v1/bogus");
  c.answered("GET", "/v1/bogus", 404);
  c.started("GET", "/v1/a");
  c.answered("GET", "/v1/b", 418); // a status the API never sends: other
  auto rows = c.to_json();
  CAF_CHECK_EQUAL(rows.size(), 3u);
  auto status = row(rows, "GET", "/v1/status");
  CAF_REQUIRE(status.is_object());
  CAF_CHECK_EQUAL(status["started"], 3);
  CAF_CHECK_EQUAL(status["in_flight"], 0);
  CAF_CHECK_EQUAL(status["handled"], json({{"200", 2}, {"401", 1}}));
  CAF_CHECK_EQUAL(status["latency"]["count"], 3);
  auto dispatch = row(rows, "POST", "/v1/dispatch");
  CAF_REQUIRE(dispatch.is_object());
  CAF_CHECK_EQUAL(dispatch["in_flight"], 1);
  auto other = row(rows, "GET", "other");
  CAF_REQUIRE(other.is_object());
  CAF_CHECK_EQUAL(other["handled"], json({{"404", 1}, {"other", 1}}));
}

CAF_TEST(a request refused before routing is counted when answered) {
  // httplib answers a malformed request line without routing it.
  auto c = counter();
  c.answered("GET", "/v1/status", 400);
  auto r = row(c.to_json(), "GET", "/v1/status");
  CAF_REQUIRE(r.is_object());
  CAF_CHECK_EQUAL(r["started"], 1);
  CAF_CHECK_EQUAL(r["in_flight"], 0);
  CAF_CHECK_EQUAL(r["handled"]["400"], 1);
  CAF_CHECK_EQUAL(r["latency"]["max_us"], 0);
}

CAF_TEST(the page has the HTTP families for the routes asked) {
  http_counter c{mesh::console_command_names()};
  c.started("POST", "/v1/dispatch");
  c.answered("POST", "/v1/dispatch", 200);
  c.started("GET", "/metrics");
  auto page = mesh::render_prometheus(
    {{"status", {{"http_requests", c.to_json()}}}}, "n1");
  for (const auto& line : std::vector<std::string>{
         "# TYPE mesh_http_requests_total counter",
         "mesh_http_requests_total{method=\"POST\",route=\"/v1/dispatch\","
         "code=\"200\"} 1",
         "mesh_http_requests_in_flight{method=\"POST\",route=\"/v1/dispatch\"}"
         " 0",
         "mesh_http_requests_in_flight{method=\"GET\",route=\"/metrics\"} 1",
         "# TYPE mesh_http_request_duration_seconds summary",
         "mesh_http_request_duration_seconds_count{method=\"POST\","
         "route=\"/v1/dispatch\"} 1"}) {
    CAF_MESSAGE(line);
    CAF_CHECK(has_line(page, line));
  }
  // Only the routes asked: not one series per command.
  CAF_CHECK(page.find("route=\"/v1/peers\"") == std::string::npos);
  CAF_CHECK(page.find("mesh_http_requests_started") == std::string::npos);
}

CAF_TEST(the console commands are all routes) {
  const auto& names = mesh::console_command_names();
  CAF_CHECK(names.size() >= 20u);
  http_counter c{names};
  for (const auto& n : names)
    CAF_CHECK_EQUAL(c.route_of("POST", "/v1/" + n), "/v1/" + n);
}
