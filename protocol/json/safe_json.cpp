#include "protocol/json/safe_json.hpp"

#include <algorithm>

#include "protocol/status.hpp"

namespace mesh {

size_t json_text_depth(std::string_view text, size_t stop) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        deepest = std::max(deepest, ++depth);
        if (deepest >= stop)
          return stop;
        break;
      case ']':
      case '}':
        if (depth > 0)
          --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

namespace {

std::string line_and_column(std::string_view text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message without its "[json.exception.x.N] " prefix and
// without its own position (we give ours).
std::string reason(const std::string& what) {
  auto text = what;
  if (auto pos = text.find("] "); pos != std::string::npos)
    text = text.substr(pos + 2);
  if (auto pos = text.find(": "); pos != std::string::npos
                                  && text.rfind("parse error", 0) == 0)
    text = text.substr(pos + 2);
  return valid_utf8(text);
}

} // namespace

caf::expected<nlohmann::json> parse_json(std::string_view text,
                                         size_t max_depth) {
  if (json_text_depth(text, max_depth + 1) > max_depth)
    return make_error(status_code::invalid_argument,
                      "nested deeper than " + std::to_string(max_depth)
                        + " levels (the limit for JSON documents)");
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(status_code::invalid_argument,
                      line_and_column(text, e.byte > 0 ? e.byte - 1 : 0)
                        + ": " + reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range (a number like 1e400) and friends.
    return make_error(status_code::invalid_argument, reason(e.what()));
  } catch (const std::exception& e) {
    return make_error(status_code::invalid_argument,
                      std::string{"cannot read JSON: "} + e.what());
  }
}

size_t json_depth(const nlohmann::json& doc) {
  if (!doc.is_structured())
    return 0;
  // Iterative: a document from outside may be deep.
  size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, size_t>> todo{{&doc, 1}};
  while (!todo.empty()) {
    auto [x, d] = todo.back();
    todo.pop_back();
    deepest = std::max(deepest, d);
    for (const auto& child : *x)
      if (child.is_structured())
        todo.emplace_back(&child, d + 1);
  }
  return deepest;
}

std::string dump_json(const nlohmann::json& doc, int indent) {
  return doc.dump(indent, ' ', false,
                  nlohmann::json::error_handler_t::replace);
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3
                            : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    // Overlong forms and surrogates are invalid too.
    if (ok && n == 2)
      ok = c >= 0xC2;
    if (ok && n == 3) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && n == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string json_pointer_token(std::string_view key) {
  std::string result;
  for (char c : key) {
    if (c == '~')
      result += "~0";
    else if (c == '/')
      result += "~1";
    else
      result += c;
  }
  return result;
}

} // namespace mesh
