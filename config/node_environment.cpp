// The parts of a node's configuration read from its surroundings rather than
// its file: CPUs, the environment, the host name, and the exposure check
// that needs the whole config. Split from node_config.cpp to keep it small.

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include "config/node_config.hpp"

namespace mesh {

size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return 1;
  return std::max(1, CPU_COUNT(&set));
}

size_t effective_scheduler_threads(size_t configured) {
  return configured != 0 ? configured : usable_cpus();
}

void normalize_layer(nlohmann::json& layer) {
  if (auto i = layer.find("console"); i != layer.end() && i->is_string())
    *i = nlohmann::json{{"listen", *i}};
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]")
    return true;
  // An IPv4 literal in 127/8: a name that only starts with "127." (a DNS
  // name an attacker rebinds to 127.0.0.1) is not one.
  in_addr addr{};
  std::string text{host};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1
         && (ntohl(addr.s_addr) >> 24) == 127;
}

std::string check_console_exposure(const node_config& cfg) {
  if (cfg.console_token.empty() && cfg.http && !is_loopback_host(cfg.http->host))
    return "the HTTP API listens on " + to_string(*cfg.http)
           + " (not loopback) without a console token: set console.token, "
             "console.token_file or MESH_CONSOLE_TOKEN (or bind it to "
             "127.0.0.1)";
  if (cfg.console_token.empty() && cfg.grpc && !is_loopback_host(cfg.grpc->host))
    return "the gRPC front door listens on " + to_string(*cfg.grpc)
           + " (not loopback) without a console token: set console.token, "
             "console.token_file or MESH_CONSOLE_TOKEN (or bind it to "
             "127.0.0.1)";
  if (!cfg.console_token.empty() || is_loopback_host(cfg.console.host))
    return {};
  return "the console listens on " + to_string(cfg.console)
         + ", which other hosts can reach, but has no token: set "
           "console.token, console.token_file or MESH_CONSOLE_TOKEN (or "
           "bind the console to 127.0.0.1)";
}

void apply_secret_from_environment(node_config& cfg) {
  if (const char* env = std::getenv(cluster_secret_env); env && *env)
    cfg.cluster.secret = env;
  if (const char* env = std::getenv(console_token_env); env && *env)
    cfg.console_token = env;
}

std::string effective_node_id(const node_config& cfg, uint16_t actual_port) {
  if (!cfg.id.empty())
    return cfg.id;
  char host[256] = {0};
  std::string name = gethostname(host, sizeof(host) - 1) == 0 ? host : "node";
  // Keep only characters a node id may hold (see check_name).
  std::string clean;
  for (char c : name.substr(0, name.find('.')))
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
      clean += c;
  if (clean.empty())
    clean = "node";
  return clean + "-" + std::to_string(actual_port);
}

namespace {

// One segment of a handler pattern: "*" or the exact name.
bool segment_matches(std::string_view pattern, std::string_view name) {
  return pattern == "*" || pattern == name;
}

} // namespace

bool handler_selected(const std::optional<std::vector<std::string>>& patterns,
                      const service_key& key) {
  if (!patterns)
    return true;
  const std::string_view parts[] = {key.ns, key.service, key.method};
  for (const auto& pattern : *patterns) {
    std::string_view rest = pattern;
    bool match = true;
    size_t i = 0;
    for (; i < 3 && match && !rest.empty(); ++i) {
      auto slash = rest.find('/');
      match = segment_matches(rest.substr(0, slash), parts[i]);
      rest = slash == std::string_view::npos ? std::string_view{}
                                             : rest.substr(slash + 1);
    }
    if (match && rest.empty())
      return true;
  }
  return false;
}

} // namespace mesh
