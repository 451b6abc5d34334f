#pragma once

// Dotted paths into a JSON document ("user_context.region.code"), split once
// and then looked up without allocating.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh {

class json_path {
public:
  json_path() = default;

  /// Splits `text` at dots, dropping a leading `prefix` part if present
  /// ("user_context.region" with prefix "user_context" -> ["region"]).
  explicit json_path(std::string_view text, std::string_view prefix = {});

  /// The value at this path inside `doc`, or null when any part is missing
  /// (or a part is not an object).
  const nlohmann::json* find(const nlohmann::json& doc) const {
    const nlohmann::json* cur = &doc;
    for (const auto& part : parts_) {
      if (!cur->is_object())
        return nullptr;
      auto i = cur->find(part);
      if (i == cur->end())
        return nullptr;
      cur = &*i;
    }
    return cur;
  }

  bool empty() const {
    return parts_.empty();
  }

  const std::string& text() const {
    return text_;
  }

  /// The parts, in order ("region", "code").
  const std::vector<std::string>& parts() const {
    return parts_;
  }

private:
  std::string text_;
  std::vector<std::string> parts_;
};

} // namespace mesh
