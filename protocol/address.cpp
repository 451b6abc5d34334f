#include "protocol/address.hpp"

namespace mesh {

std::string to_string(const host_port& x) {
  if (x.host.find(':') != std::string::npos)
    return "[" + x.host + "]:" + std::to_string(x.port);
  return x.host + ":" + std::to_string(x.port);
}

std::optional<host_port> parse_host_port(std::string_view text,
                                         std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    error = "'" + std::string(text) + "' is not a host:port address";
    return std::nullopt;
  }
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      error = "'" + std::string(text) + "' has a malformed IPv6 host";
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
  }
  if (port_text.empty() || port_text.size() > 5
      || port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    error = "'" + std::string(text) + "' has no numeric port";
    return std::nullopt;
  }
  auto port = std::stoul(std::string(port_text));
  if (port > 65535) {
    error = "port " + std::to_string(port) + " in '" + std::string(text)
            + "' is out of range (0-65535)";
    return std::nullopt;
  }
  return host_port{std::string(host), static_cast<uint16_t>(port)};
}

} // namespace mesh
