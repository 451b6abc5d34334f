#define CAF_SUITE cluster.http_api
#include "check.hpp"
#include <caf/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <httplib.h>

#include "http/http_envelope.hpp"
#include "process.hpp"
#include "protocol/address.hpp"
#include "temp_dir.hpp"

// The node's HTTP API, end to end: a real meshnode, a real HTTP client
// (httplib, and curl once as the README shows), every answer in the one
// envelope with the HTTP status of its Mesh status.

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string echo_body = R"({"namespace": "echo", "service":
  "EchoService", "method": "Echo", "payload": {"word": "hi"}})";

/// An HTTP client of the node at `address` ("HOST:PORT").
struct client {
  explicit client(const std::string& address) {
    std::string error;
    auto hp = mesh::parse_host_port(address, error);
    CAF_REQUIRE(hp.has_value());
    cli = std::make_unique<httplib::Client>(hp->host, hp->port);
    cli->set_read_timeout(70, 0);
  }

  httplib::Result get(const std::string& path, httplib::Headers h = {}) {
    auto r = cli->Get(path.c_str(), h);
    CAF_REQUIRE(r);
    return r;
  }

  httplib::Result post(const std::string& path, const std::string& body,
                       httplib::Headers h = {}) {
    auto r = cli->Post(path.c_str(), h, body, "application/json");
    CAF_REQUIRE(r);
    return r;
  }

  std::unique_ptr<httplib::Client> cli;
};

/// The body of `r`, which must be an envelope with HTTP status `status`
/// and Mesh status `name`.
json envelope(const httplib::Result& r, int status, const std::string& name) {
  MESH_CHECK_MSG(r->status == status, "HTTP " << r->status << " (want "
                                              << status << "): " << r->body);
  CAF_CHECK_EQUAL(r->get_header_value("Content-Type"), "application/json");
  auto doc = json::parse(r->body, nullptr, false);
  CAF_REQUIRE(doc.is_object());
  CAF_CHECK_EQUAL(doc["status"], name);
  CAF_CHECK_EQUAL(doc["ok"], name == "ok");
  CAF_CHECK(doc["code"].is_number_integer());
  for (const auto& [key, value] : doc.items())
    MESH_CHECK_MSG(key == "ok" || key == "status" || key == "code"
                       || key == "result" || key == "error"
                       || key == "unauthenticated",
                   "unexpected top-level key '" << key << "'");
  if (name == "ok")
    CAF_CHECK(doc.contains("result"));
  else
    CAF_CHECK(doc["error"].is_string());
  return doc;
}

/// The path of program `name` on $PATH (run_program does not search it).
std::string which(const std::string& name) {
  std::string path
      = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/bin:/bin";
  for (size_t start = 0; start <= path.size();) {
    auto end = std::min(path.find(':', start), path.size());
    auto candidate = path.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  CAF_FAIL(name << " is not on PATH (scripts/install-deps.sh --tests)");
  return {};
}

void check_error(const json& doc, const std::string& phrase) {
  auto text = doc.value("error", "");
  MESH_CHECK_MSG(text.find(phrase) != std::string::npos,
                 "error '" << text << "' lacks '" << phrase << "'");
}

struct fixture {
  temp_dir dir;
  node_process node{{"--id", "api", "--http", "127.0.0.1:0", "--plugin",
                     bin("libmesh_example_handlers.so"), "--plugin",
                     bin("libmesh_test_handlers.so"), "--max-payload-bytes",
                     "1024", "--workflows", dir.path(), "--data-dir",
                     dir.file("data")}};
  client http{node.http()};
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(http_api_tests, fixture)

CAF_TEST(the ready line names the HTTP address) {
  std::string error;
  auto hp = mesh::parse_host_port(node.http(), error);
  CAF_REQUIRE(hp.has_value());
  CAF_CHECK_EQUAL(hp->host, "127.0.0.1");
  CAF_CHECK_NOT_EQUAL(hp->port, 0);
}

CAF_TEST(GET v1 status answers in the envelope) {
  auto doc = envelope(http.get("/v1/status"), 200, "ok");
  CAF_CHECK_EQUAL(doc["code"], 0);
  CAF_CHECK_EQUAL(doc["result"]["id"], "api");
  CAF_CHECK_EQUAL(doc["result"]["listen"], node.listen());
}

CAF_TEST(POST v1 dispatch runs a handler of the example plug - in) {
  auto doc = envelope(http.post("/v1/dispatch", echo_body), 200, "ok");
  CAF_CHECK_EQUAL(doc["result"]["payload"], json({{"word", "hi"}}));
  CAF_CHECK_EQUAL(doc["result"]["handled_by"], "api");
}

CAF_TEST(the query gives arguments with JSON values) {
  auto doc = envelope(http.post("/v1/dispatch?namespace=echo&service="
                                "EchoService&method=Echo&payload="
                                "%7B%22n%22%3A%5B7%2C%22x%22%5D%7D",
                                ""),
                      200, "ok");
  CAF_CHECK_EQUAL(doc["result"]["payload"], json({{"n", {7, "x"}}}));
  // GET reads with them too.
  doc = envelope(http.get("/v1/runs?limit=2"), 200, "ok");
  CAF_CHECK(doc["result"]["runs"].is_array());
}

CAF_TEST(a browser page cannot drive the node) {
  // GET only reads: a command that changes the node needs POST (an <img>
  // tag cannot send one).
  auto doc = envelope(http.get("/v1/leave"), 405, "invalid_argument");
  check_error(doc, "GET only reads");
  doc = envelope(http.get("/v1/namespaces?action=add&namespace=x"), 405,
                 "invalid_argument");
  check_error(doc, "send it with POST");
  // A form (not JSON) or a page of another origin is refused.
  // (A text/plain form can carry a body that parses as JSON.)
  auto form = http.cli->Post("/v1/leave", R"({"x": "=y"})", "text/plain");
  check_error(envelope(form, 403, "permission_denied"), "must be JSON");
  httplib::Headers evil{{"Origin", "http://evil.example"}};
  auto cross = http.cli->Post("/v1/leave", evil, "{}", "application/json");
  check_error(envelope(cross, 403, "permission_denied"), "evil.example");
  // Without a token, only loopback names (DNS rebinding).
  httplib::Headers rebound{{"Host", "evil.example:7422"}};
  check_error(envelope(http.get("/v1/status", rebound), 403,
                       "permission_denied"),
              "loopback");
  // A name that only starts like a loopback address is a name too, and
  // /metrics keeps to the same rule.
  httplib::Headers lookalike{{"Host", "127.evil.example:7422"}};
  check_error(envelope(http.get("/v1/status", lookalike), 403,
                       "permission_denied"),
              "loopback");
  auto scraped = http.get("/metrics", lookalike);
  CAF_REQUIRE(scraped);
  CAF_CHECK_EQUAL(scraped->status, 403);
  // HEAD runs the GET routes: it only reads as well.
  auto head = http.cli->Head("/v1/leave");
  CAF_REQUIRE(head);
  CAF_CHECK_EQUAL(head->status, 405);
  // The node is still there and the page's own origin passes.
  httplib::Headers own{{"Origin", "http://" + node.http()}};
  envelope(http.get("/v1/status", own), 200, "ok");
}

CAF_TEST(a handler that fails is 500 with its error) {
  auto doc = envelope(http.post("/v1/dispatch", R"({"namespace": "test",
    "service": "Faults", "method": "Throw"})"),
                      500, "handler_error");
  check_error(doc, "test/Faults/Throw");
  CAF_CHECK_EQUAL(doc["result"]["handled_by"], "api");
}

CAF_TEST(unknown commands and paths are 404 envelopes) {
  check_error(envelope(http.post("/v1/no_such_cmd", "{}"), 404, "not_found"),
              "no_such_cmd");
  check_error(envelope(http.get("/nowhere"), 404, "not_found"), "GET /nowhere");
  check_error(envelope(http.cli->Delete("/v1/status"), 404, "not_found"),
              "DELETE /v1/status");
}

CAF_TEST(a body that is not a JSON object is 400) {
  check_error(
      envelope(http.post("/v1/status", "{bad"), 400, "invalid_argument"),
      "is not JSON");
  check_error(
      envelope(http.post("/v1/status", "[1, 2]"), 400, "invalid_argument"),
      "must be a JSON object");
}

CAF_TEST(resource aliases reach their commands) {
  check_error(envelope(http.get("/v1/workflows/nope"), 404, "not_found"),
              "no workflow named nope");
  check_error(envelope(http.get("/v1/runs/run-x"), 404, "not_found"), "run-x");
  // A bodiless POST, as `curl -X POST` sends.
  auto cancel = http.cli->Post("/v1/runs/run-y/cancel");
  CAF_REQUIRE(cancel);
  check_error(envelope(cancel, 404, "not_found"), "run-y");
  check_error(envelope(http.get("/v1/jobs/j1"), 503, "unavailable"),
              "task dispatcher");
  check_error(envelope(http.get("/v1/traces/" + trace), 404, "not_found"),
              trace);
}

CAF_TEST(a traceparent gives a dispatch its trace and comes back) {
  auto sent = "00-" + trace + "-00f067aa0ba902b7-01";
  auto r = http.post("/v1/dispatch", echo_body, {{"traceparent", sent}});
  auto doc = envelope(r, 200, "ok");
  CAF_CHECK_EQUAL(doc["result"]["trace_id"], trace);
  auto back = mesh::parse_traceparent(r->get_header_value("traceparent"));
  CAF_REQUIRE(back.has_value());
  CAF_CHECK_EQUAL(back->trace_id, trace);
  CAF_CHECK_NOT_EQUAL(back->parent_id, "00f067aa0ba902b7"); // our own span
  // A malformed header is ignored: the node makes a trace of its own, and
  // still says which.
  auto bad = http.post("/v1/dispatch", echo_body,
                       {{"traceparent", "00-" + trace + "-zz-01"}});
  auto own = envelope(bad, 200, "ok")["result"]["trace_id"];
  CAF_CHECK_NOT_EQUAL(own, trace);
  auto header = mesh::parse_traceparent(bad->get_header_value("traceparent"));
  CAF_REQUIRE(header.has_value());
  CAF_CHECK_EQUAL(header->trace_id, own);
}

CAF_TEST(a body over the limit is 413) {
  // 2 x 1024 + 64 KiB is the most a body may hold with 1 KiB payloads.
  json big{{"namespace", "echo"},
           {"service", "EchoService"},
           {"method", "Echo"},
           {"payload", std::string(200 * 1024, 'x')}};
  auto doc = envelope(http.post("/v1/dispatch", big.dump()), 413,
                      "invalid_argument");
  check_error(doc, "limits.max_payload_bytes");
  // Just under the body limit the router itself refuses the payload.
  big["payload"] = std::string(2048, 'x');
  envelope(http.post("/v1/dispatch", big.dump()), 400, "invalid_argument");
}

CAF_TEST(probes metrics and the page are served) {
  auto health = envelope(http.get("/healthz"), 200, "ok");
  CAF_CHECK_EQUAL(health["result"]["node"], "api");
  auto ready = envelope(http.get("/readyz"), 200, "ok");
  CAF_CHECK_EQUAL(ready["result"]["ready"], true);
  auto metrics = http.get("/metrics");
  CAF_CHECK_EQUAL(metrics->status, 200);
  CAF_CHECK_EQUAL(metrics->get_header_value("Content-Type")
                      .rfind("text/plain; version=0.0.4", 0),
                  0u);
  MESH_CHECK_MSG(metrics->body.find("mesh_node_info{node=\"api\"")
                     != std::string::npos,
                 metrics->body.substr(0, 400));
  auto page = http.get("/");
  CAF_CHECK_EQUAL(page->status, 200);
  CAF_CHECK_EQUAL(page->get_header_value("Content-Type"),
                  "text/html; charset=utf-8");
  CAF_CHECK(page->body.find("<html") != std::string::npos);
}

CAF_TEST(curl works as the README shows) {
  auto r = run_program({which("curl"), "-s", "-X", "POST",
                        "http://" + node.http() + "/v1/dispatch", "--json",
                        echo_body});
  CAF_REQUIRE_EQUAL(r.exit_code, 0);
  auto doc = json::parse(r.out, nullptr, false);
  CAF_REQUIRE(doc.is_object());
  CAF_CHECK_EQUAL(doc["ok"], true);
  CAF_CHECK_EQUAL(doc["result"]["payload"], json({{"word", "hi"}}));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(with a token every v1 request and metrics need it) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process node{{"--id", "guarded", "--http", "127.0.0.1:0",
                     "--console-token-file", dir.file("token")}};
  client http{node.http()};
  for (auto* path : {"/v1/status", "/metrics"}) {
    for (const auto& auth : {std::string{}, std::string{"Bearer wrong"},
                             std::string{"Basic czNjcmV0LXRva2Vu"}}) {
      httplib::Headers h;
      if (!auth.empty())
        h.emplace("Authorization", auth);
      auto r = http.get(path, h);
      auto doc = envelope(r, 401, "permission_denied");
      CAF_CHECK_EQUAL(doc["unauthenticated"], true);
      CAF_CHECK_EQUAL(
          r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
    }
  }
  httplib::Headers right{{"Authorization", "Bearer s3cret-token"}};
  auto doc = envelope(http.get("/v1/status", right), 200, "ok");
  CAF_CHECK_EQUAL(doc["result"]["id"], "guarded");
  // (The result is kept: CAF_CHECK_EQUAL would read a destroyed one.)
  auto metrics = http.get("/metrics", right);
  CAF_CHECK_EQUAL(metrics->status, 200);
  // Open without a token: the probes and the page (they hold no data).
  envelope(http.get("/healthz"), 200, "ok");
  envelope(http.get("/readyz"), 200, "ok");
  auto page = http.get("/");
  CAF_CHECK_EQUAL(page->status, 200);
  auto r = run_program({which("curl"), "-s", "-H",
                        "Authorization: Bearer s3cret-token",
                        "http://" + node.http() + "/v1/status"});
  CAF_REQUIRE_EQUAL(r.exit_code, 0);
  auto reply = json::parse(r.out, nullptr, false);
  MESH_CHECK_MSG(reply.is_object() && reply["result"]["id"] == "guarded",
                 "curl printed '" << r.out << "'");
}

CAF_TEST(readyz answers 503 once the node drains) {
  node_process node{{"--id", "drainer", "--http", "127.0.0.1:0", "--plugin",
                     bin("libmesh_test_handlers.so")}};
  client http{node.http()};
  // A request in flight holds the shutdown open (shutdown_grace_ms).
  int slow_status = 0;
  json slow;
  std::thread caller{[&] {
    client own{node.http()};
    auto r = own.cli->Post("/v1/dispatch", R"({"namespace": "test",
      "service": "Faults", "method": "Sleep", "payload": {"ms": 3000}})",
                           "application/json");
    if (r) {
      slow_status = r->status;
      slow = json::parse(r->body, nullptr, false);
    }
  }};
  auto running = [&] {
    auto doc = json::parse(http.get("/v1/handlers")->body, nullptr, false);
    for (const auto& h : doc["result"])
      if (h.value("handler", "") == "test/Faults/Sleep")
        return h["stats"].value("running", 0) > 0;
    return false;
  };
  CAF_CHECK(await_condition(running, 10s));
  CAF_CHECK_EQUAL(::kill(node.pid(), SIGTERM), 0);
  auto draining = [&] { return http.get("/readyz")->status == 503; };
  CAF_CHECK(await_condition(draining, 10s));
  check_error(envelope(http.get("/readyz"), 503, "unavailable"),
              "shutting down");
  // Still alive while it drains.
  envelope(http.get("/healthz"), 200, "ok");
  caller.join();
  CAF_CHECK_EQUAL(slow_status, 200);
  CAF_CHECK_EQUAL(slow["result"]["payload"]["slept_ms"], 3000);
  CAF_CHECK_EQUAL(node.wait_exit(30s), 0);
}

CAF_TEST(an HTTP address in use stops the start naming it) {
  node_process first{{"--id", "first", "--http", "127.0.0.1:0"}};
  auto r = run_program({bin("meshnode"), "--id", "second", "--listen",
                        "127.0.0.1:0", "--console", "127.0.0.1:0", "--http",
                        first.http()},
                       30s);
  CAF_CHECK_EQUAL(r.exit_code, 1);
  MESH_CHECK_MSG(r.out.empty(), "printed a ready line: " << r.out);
  auto phrase = "cannot listen for HTTP on " + first.http() + ": ";
  MESH_CHECK_MSG(r.err.find(phrase) != std::string::npos,
                 "stderr lacks '" << phrase << "': " << r.err);
  // The first node still answers.
  client http{first.http()};
  envelope(http.get("/healthz"), 200, "ok");
}
