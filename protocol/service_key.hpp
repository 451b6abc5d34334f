#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mesh {

namespace pb {
class ServiceRef;
} // namespace pb

/// Identifies one handler: (namespace, service, method). One method name on
/// two services is two handlers. Written "namespace/Service/Method".
struct service_key {
  std::string ns;
  std::string service;
  std::string method;

  friend bool operator==(const service_key& x, const service_key& y) {
    return x.ns == y.ns && x.service == y.service && x.method == y.method;
  }
  friend bool operator!=(const service_key& x, const service_key& y) {
    return !(x == y);
  }
  friend bool operator<(const service_key& x, const service_key& y) {
    if (x.ns != y.ns)
      return x.ns < y.ns;
    if (x.service != y.service)
      return x.service < y.service;
    return x.method < y.method;
  }
};

/// "namespace/Service/Method".
std::string to_string(const service_key& x);

/// Parses "namespace/Service/Method"; `nullopt` unless there are exactly
/// three non-empty, well-formed parts.
std::optional<service_key> parse_service_path(std::string_view path);

service_key to_service_key(const pb::ServiceRef& ref);
void to_service_ref(const service_key& key, pb::ServiceRef& out);

/// Checks one part of a key: 1..128 characters of letters, digits, '_', '-'
/// and '.'. Returns an error text naming `what`, or an empty string.
std::string check_name(std::string_view what, std::string_view value);

/// Checks all three parts; the first problem found, or an empty string.
std::string check_service_key(const service_key& key);

/// "namespace/Service/Method" where any part may be "*" (allow-lists).
struct service_pattern {
  std::string ns, service, method;

  bool matches(std::string_view n, std::string_view s,
               std::string_view m) const {
    return (ns == "*" || ns == n) && (service == "*" || service == s)
           && (method == "*" || method == m);
  }
};

/// Parses a pattern; `nullopt` with `error` set when malformed.
std::optional<service_pattern> parse_service_pattern(std::string_view text,
                                                     std::string& error);

} // namespace mesh

template <>
struct std::hash<mesh::service_key> {
  size_t operator()(const mesh::service_key& x) const noexcept {
    std::hash<std::string> h;
    size_t seed = h(x.ns);
    seed ^= h(x.service) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    seed ^= h(x.method) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    return seed;
  }
};
