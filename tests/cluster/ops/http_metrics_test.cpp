#define CAF_SUITE cluster.http_metrics
#include "check.hpp"

// The HTTP API's requests, counted by verb, route and status, as a real
// meshnode shows them on /metrics and in its status.

#include <fstream>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "protocol/address.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string token = "s3cret-token";

bool has_line(const std::string& page, const std::string& line) {
  return ("\n" + page).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

CAF_TEST(requests are counted by verb route and status) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << token << "\n";
  node_process node{{"--id", "counted", "--plugin",
                     bin("libmesh_test_handlers.so"), "--max-payload-bytes",
                     "1024", "--console-token-file", dir.file("token")}};
  std::string error;
  auto hp = mesh::parse_host_port(node.http(), error);
  CAF_REQUIRE(hp.has_value());
  httplib::Client http{hp->host, hp->port};
  http.set_read_timeout(30, 0);
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  auto status_of = [](const httplib::Result& r) { return r ? r->status : -1; };
  CAF_CHECK_EQUAL(status_of(http.Get("/v1/status", auth)), 200);
  CAF_CHECK_EQUAL(status_of(http.Get("/v1/status", auth)), 200);
  CAF_CHECK_EQUAL(status_of(http.Get("/v1/status")), 401);
  json echo{{"namespace", "test"}, {"service", "Faults"}, {"method", "Echo"},
            {"payload", {{"word", "hi"}}}};
  CAF_CHECK_EQUAL(status_of(http.Post("/v1/dispatch", auth, echo.dump(),
                                      "application/json")),
                  200);
  // Over the body limit (2 x 1 KiB + 64 KiB): refused before any handler.
  echo["payload"] = std::string(200 * 1024, 'x');
  CAF_CHECK_EQUAL(status_of(http.Post("/v1/dispatch", auth, echo.dump(),
                                      "application/json")),
                  413);
  // Paths nobody serves are all one route, "other": no series per path.
  for (const auto* path : {"/nope", "/etc/passwd", "/v1/a/b/c"})
    CAF_CHECK_EQUAL(status_of(http.Get(path, auth)), 404);
  // An unknown command (the console names what GET may ask).
  CAF_CHECK_EQUAL(status_of(http.Get("/v1/no_such_command", auth)), 405);
  auto scrape = http.Get("/metrics", auth);
  CAF_REQUIRE(scrape && scrape->status == 200);
  const auto& page = scrape->body;
  for (const auto& line : std::vector<std::string>{
         "mesh_http_requests_total{method=\"GET\",route=\"/v1/status\","
         "code=\"200\"} 2",
         "mesh_http_requests_total{method=\"GET\",route=\"/v1/status\","
         "code=\"401\"} 1",
         "mesh_http_requests_total{method=\"POST\",route=\"/v1/dispatch\","
         "code=\"200\"} 1",
         "mesh_http_requests_total{method=\"POST\",route=\"/v1/dispatch\","
         "code=\"413\"} 1",
         "mesh_http_requests_total{method=\"GET\",route=\"other\","
         "code=\"404\"} 3",
         "mesh_http_requests_total{method=\"GET\",route=\"other\","
         "code=\"405\"} 1",
         "mesh_http_request_duration_seconds_count{method=\"GET\","
         "route=\"/v1/status\"} 3",
         // The scrape itself: routed, not yet answered while it renders.
         "mesh_http_requests_in_flight{method=\"GET\",route=\"/metrics\"} 1",
         "mesh_http_requests_in_flight{method=\"GET\",route=\"/v1/status\"} 0"})
    MESH_CHECK_MSG(has_line(page, line), line << " not in the page");
  CAF_CHECK(page.find("/nope") == std::string::npos);
  CAF_CHECK(page.find("passwd") == std::string::npos);
  CAF_CHECK(page.find("no_such_command") == std::string::npos);
  // The console's status has the same counts; the scrape is answered now.
  auto status = http.Get("/v1/status", auth);
  CAF_REQUIRE(status && status->status == 200);
  auto doc = json::parse(status->body, nullptr, false);
  CAF_REQUIRE(doc.is_object());
  bool seen = false;
  for (const auto& row : doc["result"]["http_requests"])
    if (row["verb"] == "GET" && row["route"] == "/metrics") {
      seen = true;
      CAF_CHECK_EQUAL(row["handled"]["200"], 1);
      CAF_CHECK_EQUAL(row["in_flight"], 0);
    }
  CAF_CHECK(seen);
  CAF_CHECK_EQUAL(node.terminate(), 0);
}
