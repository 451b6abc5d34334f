#pragma once

// Node addresses ("host:port", "[v6]:port") as they appear in configs,
// flags, member lists and meshctl.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mesh {

struct host_port {
  std::string host;
  uint16_t port = 0;
};

/// "host:port", with brackets around an IPv6 host.
std::string to_string(const host_port& x);

/// Parses "host:port" or "[v6]:port"; `error` names the problem.
std::optional<host_port> parse_host_port(std::string_view text,
                                         std::string& error);

} // namespace mesh
