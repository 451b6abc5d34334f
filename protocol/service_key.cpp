#include "protocol/service_key.hpp"

#include <vector>

#include "protocol/messaging/type_ids.hpp"

namespace mesh {

std::string to_string(const service_key& x) {
  std::string result;
  result.reserve(x.ns.size() + x.service.size() + x.method.size() + 2);
  result += x.ns;
  result += '/';
  result += x.service;
  result += '/';
  result += x.method;
  return result;
}

std::optional<service_key> parse_service_path(std::string_view path) {
  auto first = path.find('/');
  if (first == std::string_view::npos)
    return std::nullopt;
  auto second = path.find('/', first + 1);
  if (second == std::string_view::npos
      || path.find('/', second + 1) != std::string_view::npos)
    return std::nullopt;
  service_key result{std::string(path.substr(0, first)),
                     std::string(path.substr(first + 1, second - first - 1)),
                     std::string(path.substr(second + 1))};
  if (!check_service_key(result).empty())
    return std::nullopt;
  return result;
}

service_key to_service_key(const pb::ServiceRef& ref) {
  return {ref.namespace_(), ref.service(), ref.method()};
}

void to_service_ref(const service_key& key, pb::ServiceRef& out) {
  out.set_namespace_(key.ns);
  out.set_service(key.service);
  out.set_method(key.method);
}

namespace {

// Which bytes a name may hold, looked up: every request's three names are
// checked by the router on both nodes (issue 16: a chain of comparisons
// per character showed in the serving node's profile).
struct name_chars {
  bool ok[256] = {};
  constexpr name_chars() {
    for (int c = 'a'; c <= 'z'; ++c)
      ok[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
      ok[c] = true;
    for (int c = '0'; c <= '9'; ++c)
      ok[c] = true;
    ok[static_cast<unsigned char>('_')] = true;
    ok[static_cast<unsigned char>('-')] = true;
    ok[static_cast<unsigned char>('.')] = true;
  }
};

constexpr name_chars allowed_in_names;

} // namespace

std::string check_name(std::string_view what, std::string_view value) {
  if (value.empty())
    return std::string(what) + " is missing";
  if (value.size() > 128)
    return std::string(what) + " is longer than 128 characters";
  bool ok = true;
  for (char c : value)
    ok &= allowed_in_names.ok[static_cast<unsigned char>(c)];
  if (!ok)
    return std::string(what) + " '" + std::string(value)
           + "' may only contain letters, digits, '_', '-' and '.'";
  return {};
}

std::optional<service_pattern> parse_service_pattern(std::string_view text,
                                                     std::string& error) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto pos = text.find('/', start);
    parts.emplace_back(text.substr(start, pos - start));
    if (pos == std::string_view::npos)
      break;
    start = pos + 1;
  }
  if (parts.size() != 3) {
    error = "pattern '" + std::string(text)
            + "' must have the form namespace/Service/Method";
    return std::nullopt;
  }
  const char* what[] = {"namespace", "service", "method"};
  for (size_t i = 0; i < 3; ++i) {
    if (parts[i] == "*")
      continue;
    if (auto err = check_name(what[i], parts[i]); !err.empty()) {
      error = "pattern '" + std::string(text) + "': " + err;
      return std::nullopt;
    }
  }
  return service_pattern{parts[0], parts[1], parts[2]};
}

std::string check_service_key(const service_key& key) {
  if (auto err = check_name("namespace", key.ns); !err.empty())
    return err;
  if (auto err = check_name("service", key.service); !err.empty())
    return err;
  return check_name("method", key.method);
}

} // namespace mesh
