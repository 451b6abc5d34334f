#include "actors/registry_validator.hpp"

#include "protocol/service_key.hpp"

namespace mesh {

std::shared_ptr<allow_list_validator>
allow_list_validator::make(const std::vector<std::string>& patterns,
                           std::string& error) {
  auto result = std::make_shared<allow_list_validator>();
  for (const auto& p : patterns) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
      auto pos = p.find('/', start);
      parts.emplace_back(p.substr(start, pos - start));
      if (pos == std::string::npos)
        break;
      start = pos + 1;
    }
    if (parts.size() != 3) {
      error = "allow-list pattern '" + p
              + "' must have the form namespace/Service/Method";
      return nullptr;
    }
    const char* what[] = {"namespace", "service", "method"};
    for (size_t i = 0; i < 3; ++i) {
      if (parts[i] == "*")
        continue;
      if (auto err = check_name(what[i], parts[i]); !err.empty()) {
        error = "allow-list pattern '" + p + "': " + err;
        return nullptr;
      }
    }
    result->patterns_.push_back(p);
    result->entries_.push_back({parts[0], parts[1], parts[2]});
  }
  return result;
}

std::string allow_list_validator::validate(std::string_view ns,
                                           std::string_view service,
                                           std::string_view method) const {
  auto match = [](const std::string& pattern, std::string_view value) {
    return pattern == "*" || pattern == value;
  };
  for (const auto& e : entries_)
    if (match(e.ns, ns) && match(e.service, service) && match(e.method, method))
      return {};
  return "not in the registry allow-list";
}

std::string allow_list_validator::describe() const {
  std::string result = "allow-list [";
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (i > 0)
      result += ", ";
    result += patterns_[i];
  }
  result += ']';
  return result;
}

} // namespace mesh
