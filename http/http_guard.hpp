#pragma once

// http_guard: what keeps a web browser from being used against the node.
//
// A page open in a browser on the node's host can send requests to
// 127.0.0.1:7422 (an <img>, a form, a fetch), and with DNS rebinding even
// read the answers. The bearer token stops all of that when one is set; a
// loopback node without a token relies on these rules instead, and they
// hold with a token too:
//  - a request whose Origin is not the node's own is refused (browsers send
//    Origin on every cross-origin POST and fetch);
//  - a POST body must be JSON (Content-Type application/json, or none): a
//    form cannot send that without a CORS preflight, which we never grant;
//  - GET (and HEAD) only reads: a command that changes the node needs POST;
//  - a body must come uncompressed (check_content_encoding), on every route;
//  - without a token, the Host must be a loopback name (an IPv4 literal in
//    127/8, localhost, [::1]): a rebound DNS name, even 127.evil.example,
//    is refused.
// Pure: tested without a server (tests/unit/http/http_guard_test.cpp).

#include <string>

#include <nlohmann/json.hpp>

namespace mesh {

/// The parts of an HTTP request the guard looks at.
struct browser_facts {
  std::string method;       ///< "GET", "HEAD" or "POST"
  std::string command;      ///< the console command the request names
  std::string host;         ///< the Host header
  std::string origin;       ///< the Origin header ("" when absent)
  std::string content_type; ///< the Content-Type header ("" when absent)
  bool token_configured = false;
};

/// How the guard answered: `http_status` 0 lets the request through; else
/// the HTTP status (403 or 405) and why, in words for the caller.
struct guard_verdict {
  int http_status = 0;
  std::string reason;
};

/// Whether `command` with `args` only reads (may be sent with GET).
bool read_only_command(const std::string& command, const nlohmann::json& args);

/// Whether a Host header names a loopback name or address (its port aside).
bool loopback_host_header(const std::string& host);

/// The verdict on a request's Content-Encoding header ("" when absent):
/// only "identity" or none passes (415 otherwise). httplib unpacks a
/// gzip or brotli body while it reads it and bounds only the bytes on the
/// wire, before any route (and so the token check) runs: 500 KiB of gzip
/// made a node hold 3 GB.
guard_verdict check_content_encoding(const std::string& header);

/// The verdict on one request to /v1/.
guard_verdict check_browser_rules(const browser_facts& request,
                                  const nlohmann::json& args);

} // namespace mesh
