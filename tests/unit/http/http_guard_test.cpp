#define CAF_SUITE http.guard

#include "http/http_guard.hpp"

#include <caf/test/dsl.hpp>

using namespace mesh;
using json = nlohmann::json;

namespace {

browser_facts get(std::string command, std::string host = "127.0.0.1:7422") {
  return {"GET", std::move(command), std::move(host), "", "", false};
}

browser_facts post(std::string command, std::string content_type
                                        = "application/json") {
  return {"POST", std::move(command), "127.0.0.1:7422", "",
          std::move(content_type), false};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(GET passes for commands that only read) {
  for (const char* cmd : {"status", "peers", "handlers", "runs", "trace"})
    CAF_CHECK_EQUAL(check_browser_rules(get(cmd), json::object()).http_status,
                    0);
  CAF_CHECK_EQUAL(
    check_browser_rules(get("manifests"), {{"action", "list"}}).http_status, 0);
  CAF_CHECK_EQUAL(check_browser_rules(get("run"), {{"action", "show"}})
                    .http_status,
                  0);
}

CAF_TEST(GET of a command that changes the node is 405) {
  for (const char* cmd : {"leave", "connect", "dispatch", "remove",
                          "dead_letter_purge", "workflow_run", "unknown"}) {
    auto v = check_browser_rules(get(cmd), json::object());
    CAF_CHECK_EQUAL(v.http_status, 405);
    CAF_CHECK(has(v.reason, "POST"));
  }
  // A reading command with an action that writes.
  auto v = check_browser_rules(get("namespaces"), {{"action", "add"}});
  CAF_CHECK_EQUAL(v.http_status, 405);
  v = check_browser_rules(get("run"), {{"action", "cancel"}});
  CAF_CHECK_EQUAL(v.http_status, 405);
  v = check_browser_rules(get("run"), {{"action", 3}});
  CAF_CHECK_EQUAL(v.http_status, 405);
  // `validator` always sets one (no arguments: none).
  CAF_CHECK_EQUAL(check_browser_rules(get("validator"), {}).http_status, 405);
  // HEAD runs the GET routes, and a cross-origin HEAD sends no Origin.
  for (const char* cmd : {"leave", "connect", "dead_letter_purge"}) {
    auto head = get(cmd);
    head.method = "HEAD";
    CAF_CHECK_EQUAL(check_browser_rules(head, {}).http_status, 405);
  }
  auto head = get("status");
  head.method = "HEAD";
  CAF_CHECK_EQUAL(check_browser_rules(head, {}).http_status, 0);
}

CAF_TEST(a POST body must be JSON or absent) {
  CAF_CHECK_EQUAL(check_browser_rules(post("leave"), {}).http_status, 0);
  CAF_CHECK_EQUAL(
    check_browser_rules(post("leave", "application/json; charset=utf-8"), {})
      .http_status,
    0);
  CAF_CHECK_EQUAL(check_browser_rules(post("leave", ""), {}).http_status, 0);
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x"}) {
    auto v = check_browser_rules(post("leave", type), {});
    CAF_CHECK_EQUAL(v.http_status, 403);
    CAF_CHECK(has(v.reason, "must be JSON"));
  }
}

CAF_TEST(another origin is refused and the same origin passes) {
  auto r = post("leave");
  r.origin = "http://evil.example";
  auto v = check_browser_rules(r, {});
  CAF_CHECK_EQUAL(v.http_status, 403);
  CAF_CHECK(has(v.reason, "evil.example"));
  r.origin = "http://127.0.0.1:7422";
  CAF_CHECK_EQUAL(check_browser_rules(r, {}).http_status, 0);
  // Same host, other port: another origin.
  r.origin = "http://127.0.0.1:8080";
  CAF_CHECK_EQUAL(check_browser_rules(r, {}).http_status, 403);
  // With a token the origin rule holds too.
  r.token_configured = true;
  CAF_CHECK_EQUAL(check_browser_rules(r, {}).http_status, 403);
}

CAF_TEST(without a token only loopback host names pass) {
  for (const char* host : {"127.0.0.1:7422", "localhost:7422", "[::1]:7422",
                           "127.0.0.1", "127.1.2.3:80"})
    CAF_CHECK_EQUAL(check_browser_rules(get("status", host), {}).http_status,
                    0);
  // A DNS name that starts like a loopback address is a name an attacker
  // can rebind, not a loopback address.
  for (const char* host : {"evil.example:7422", "10.0.0.5:7422", "",
                           "127.evil.example:7422", "127.0.0.1.nip.io:7422",
                           "127.0.0.256:7422"}) {
    auto v = check_browser_rules(get("status", host), {});
    CAF_CHECK_EQUAL(v.http_status, 403);
    CAF_CHECK(has(v.reason, "loopback"));
  }
  // With a token, any name (a node behind a proxy or on a LAN).
  auto r = get("status", "mesh-1.internal:7422");
  r.token_configured = true;
  CAF_CHECK_EQUAL(check_browser_rules(r, {}).http_status, 0);
}

CAF_TEST(only an uncompressed body passes the content encoding check) {
  for (const char* fine : {"", "identity", " Identity ", "IDENTITY\t"})
    CAF_CHECK_EQUAL(check_content_encoding(fine).http_status, 0);
  for (const char* packed : {"gzip", "br", "deflate", "x-gzip",
                             "gzip, identity", "identity, gzip", "zstd",
                             "\xff\xfe"}) {
    auto v = check_content_encoding(packed);
    CAF_CHECK_EQUAL(v.http_status, 415);
    CAF_CHECK(has(v.reason, "send it uncompressed"));
    // The header's value is not echoed (it may be anything).
    CAF_CHECK(!has(v.reason, packed));
  }
}
