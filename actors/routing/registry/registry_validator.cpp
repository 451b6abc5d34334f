#include "actors/routing/registry/registry_validator.hpp"

#include "protocol/service_key.hpp"

namespace mesh {

std::shared_ptr<allow_list_validator>
allow_list_validator::make(const std::vector<std::string>& patterns,
                           std::string& error) {
  auto result = std::make_shared<allow_list_validator>();
  for (const auto& p : patterns) {
    auto parsed = parse_service_pattern(p, error);
    if (!parsed) {
      error = "allow-list " + error;
      return nullptr;
    }
    result->patterns_.push_back(p);
    result->entries_.push_back(std::move(*parsed));
  }
  return result;
}

std::string allow_list_validator::validate(std::string_view ns,
                                           std::string_view service,
                                           std::string_view method) const {
  for (const auto& e : entries_)
    if (e.matches(ns, service, method))
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
