#include "http/http_guard.hpp"

#include <cctype>
#include <set>

#include "config/node_config.hpp"

namespace mesh {

namespace {

// Commands that never change anything; with an "action" argument only the
// reading ones ("show", "list") count. (Not `validator`: it always sets
// one; `status` shows it.)
const std::set<std::string>& reading_commands() {
  static const std::set<std::string> names{
    "status",   "handlers",       "peers",    "namespaces",
    "manifests", "strategy_stats", "routes",  "metrics",   "records",
    "jobs",     "job",            "tasks",    "dead_letters", "policies",
    "hooks",    "breakers",       "workflows", "workflow", "runs",
    "run",      "trace"};
  return names;
}

// The host part of a Host header ("127.0.0.1:7422", "[::1]:7422").
std::string host_part(const std::string& header) {
  if (!header.empty() && header.front() == '[') {
    auto end = header.find(']');
    return end == std::string::npos ? header : header.substr(1, end - 1);
  }
  return header.substr(0, header.rfind(':'));
}

// "http://HOST[:PORT]" or "https://..." whose authority is `host`.
bool same_origin(const std::string& origin, const std::string& host) {
  for (const char* scheme : {"http://", "https://"})
    if (origin == scheme + host)
      return true;
  return false;
}

} // namespace

bool loopback_host_header(const std::string& host) {
  return is_loopback_host(host_part(host));
}

bool read_only_command(const std::string& command, const nlohmann::json& args) {
  if (reading_commands().count(command) == 0)
    return false;
  auto i = args.find("action");
  if (i == args.end())
    return true;
  return i->is_string() && (*i == "show" || *i == "list");
}

guard_verdict check_content_encoding(const std::string& header) {
  auto first = header.find_first_not_of(" \t");
  auto last = header.find_last_not_of(" \t");
  std::string value = first == std::string::npos
                        ? std::string{}
                        : header.substr(first, last - first + 1);
  for (auto& c : value)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (value.empty() || value == "identity")
    return {};
  return {415, "a compressed request body (Content-Encoding) is not "
               "accepted: send it uncompressed"};
}

guard_verdict check_browser_rules(const browser_facts& r,
                                  const nlohmann::json& args) {
  if (!r.origin.empty() && !same_origin(r.origin, r.host))
    return {403, "a request from the web page at " + r.origin
                   + " is refused: only the node's own pages may call its "
                     "API"};
  if (r.method == "POST" && !r.content_type.empty()
      && r.content_type.rfind("application/json", 0) != 0)
    return {403, "POST bodies must be JSON (Content-Type: application/json), "
                 "not " + r.content_type + " (curl: --json '{...}')"};
  // Every method but POST (httplib answers HEAD with the GET routes, and a
  // cross-origin HEAD carries no Origin).
  if (r.method != "POST" && !read_only_command(r.command, args))
    return {405, "GET only reads: '" + r.command + "'"
                   + (args.contains("action") ? " with this action" : "")
                   + " changes the node, send it with POST"};
  if (!r.token_configured && !loopback_host_header(r.host))
    return {403, "Host '" + r.host + "' is refused: without a console token "
                 "the HTTP API answers only requests addressed to a loopback "
                 "name (127.0.0.1, localhost, [::1])"};
  return {};
}

} // namespace mesh
