#include "workflows/graph/workflow_refs.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mesh {

namespace {

using nlohmann::json;

bool is_step_id_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

// Reads fields (".name", ".3") and indexes ("[3]") from text[pos...] into
// `path`. `last` is the token before them, as written, for messages.
// Returns an error or "".
std::string parse_path(std::string_view text, size_t pos, std::string last,
                       std::vector<std::string>& path) {
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '.') {
      auto end = text.find_first_of(".[]}", pos + 1);
      if (end == std::string_view::npos)
        end = text.size();
      auto name = text.substr(pos + 1, end - pos - 1);
      if (name.empty())
        return "empty field name after '" + last + ".'";
      path.emplace_back(name);
      last = std::string{name};
      pos = end;
    } else if (c == '[') {
      auto end = text.find(']', pos);
      if (end == std::string_view::npos)
        return "unclosed '[' after '" + last + "'";
      auto index = text.substr(pos + 1, end - pos - 1);
      // Nine digits keep it in range of any size_t; no array is that long.
      if (!all_digits(index) || index.size() > 9)
        return "index must be a non-negative integer, not '"
               + std::string{index} + "'";
      auto n = std::stoul(std::string{index});
      path.push_back(std::to_string(n)); // "007" -> "7"
      last = "[" + path.back() + "]";
      pos = end + 1;
    } else {
      return "unexpected '" + std::string(1, c) + "' after '" + last + "'";
    }
  }
  return {};
}

std::string a_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

// Appends a path token the way a reference writes it ("items[0].sku").
void append_token(std::string& where, const std::string& token, bool index) {
  if (index)
    where += "[" + token + "]";
  else
    where += (where.empty() ? "" : ".") + token;
}

// Follows `ref` (already parsed) through `scope`; throws reference_error
// prefixed by "${text}: ".
json lookup(const reference& ref, const json& scope) {
  auto fail = [&](const std::string& why) {
    throw reference_error("${" + ref.text + "}: " + why);
  };
  static const json null_value;
  auto member = [](const json& obj, const std::string& key) -> const json* {
    if (!obj.is_object())
      return nullptr;
    auto i = obj.find(key);
    return i == obj.end() ? nullptr : &*i;
  };
  const json* value = nullptr;
  std::string desc; // what `value` is, for messages
  size_t first = 0; // the first path token that walks into `value`
  if (ref.scope == "steps") {
    const json* steps = member(scope, "steps");
    const json* step = steps ? member(*steps, ref.step) : nullptr;
    if (step == nullptr)
      fail("no step '" + ref.step + "'");
    const json* status = member(*step, "status");
    std::string status_name = status && status->is_string()
                                  ? status->get<std::string>()
                                  : std::string{"unknown"};
    if (ref.path.at(0) == "status")
      return status ? *status : null_value;
    if (status_name != "success" && status_name != "compensated")
      fail("step " + ref.step + " did not succeed (it is " + status_name + ")");
    value = member(*step, "output");
    desc = "the output of step " + ref.step;
    first = 1;
  } else {
    value = member(scope, ref.scope);
    desc = "the " + ref.scope;
  }
  if (value == nullptr)
    value = &null_value;
  std::string where; // the path walked so far
  for (size_t i = first; i < ref.path.size(); ++i) {
    const auto& token = ref.path[i];
    auto what = where.empty() ? desc : "'" + where + "' in " + desc;
    if (value->is_array() && all_digits(token)) {
      // A longer token would not fit; no array is that long anyway.
      auto n = token.size() > 9 ? SIZE_MAX : std::stoul(token);
      if (n >= value->size()) {
        auto size = value->size();
        fail(desc + " has no index " + token + " (it has "
             + std::to_string(size) + (size == 1 ? " item)" : " items)"));
      }
      value = &(*value)[n];
      append_token(where, token, true);
    } else if (value->is_object()) {
      const json* next = member(*value, token);
      if (next == nullptr)
        fail(desc + " has no field '" + token + "'");
      value = next;
      append_token(where, token, false);
    } else if (all_digits(token)) {
      fail(what + " is " + a_type(*value) + ", not an array (index " + token
           + ")");
    } else {
      fail(what + " is " + a_type(*value) + ", not an object (field '" + token
           + "')");
    }
  }
  return *value;
}

// Calls on_text(literal) and on_ref(text between "${" and "}") in order
// for the pieces of `s`; "$${" is the literal "${". Returns "" or an error
// (an unclosed "${").
template<class OnText, class OnRef>
std::string scan(const std::string& s, OnText on_text, OnRef on_ref) {
  std::string literal;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
    } else if (s.compare(i, 2, "${") == 0) {
      auto end = s.find('}', i + 2);
      if (end == std::string::npos)
        return "unclosed '${'";
      if (!literal.empty())
        on_text(std::exchange(literal, std::string{}));
      on_ref(std::string_view{s}.substr(i + 2, end - i - 2));
      i = end + 1;
    } else {
      literal += s[i++];
    }
  }
  if (!literal.empty())
    on_text(literal);
  return {};
}

// The text of the one reference that is all of `s`, if it is one.
std::optional<std::string_view> whole_reference(const std::string& s) {
  if (s.size() < 3 || s.compare(0, 2, "${") != 0 || s.find('}') != s.size() - 1)
    return std::nullopt;
  return std::string_view{s}.substr(2, s.size() - 3);
}

reference parse_or_throw(std::string_view text) {
  auto parsed = parse_reference(text);
  if (auto* err = std::get_if<std::string>(&parsed))
    throw reference_error("${" + std::string{text} + "}: " + *err);
  return std::get<reference>(std::move(parsed));
}

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

void find_in(const json& v, const std::string& pointer,
             std::vector<found_reference>& out,
             std::vector<std::string>& errors) {
  if (v.is_object()) {
    for (const auto& [key, child] : v.items())
      find_in(child, pointer + "/" + escape_pointer_token(key), out, errors);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      find_in(v[i], pointer + "/" + std::to_string(i), out, errors);
  } else if (v.is_string()) {
    auto err = scan(
        v.get_ref<const std::string&>(), [](const std::string&) {},
        [&](std::string_view text) {
          auto parsed = parse_reference(text);
          if (auto* why = std::get_if<std::string>(&parsed))
            errors.push_back(pointer + ": ${" + std::string{text}
                             + "}: " + *why);
          else
            out.push_back({pointer, std::get<reference>(std::move(parsed))});
        });
    if (!err.empty())
      errors.push_back(pointer + ": " + err);
  }
}

json resolve_string(const std::string& s, const json& scope) {
  if (auto text = whole_reference(s))
    return lookup(parse_or_throw(*text), scope);
  std::string out;
  auto err = scan(
      s, [&](const std::string& literal) { out += literal; },
      [&](std::string_view text) {
        auto value = lookup(parse_or_throw(text), scope);
        if (value.is_string())
          out += value.get_ref<const std::string&>();
        else
          out += value.dump();
      });
  if (!err.empty())
    throw reference_error("'" + s + "': " + err);
  return out;
}

} // namespace

std::variant<reference, std::string> parse_reference(std::string_view text) {
  if (text.empty())
    return std::string{"empty reference"};
  reference ref;
  ref.text = std::string{text};
  auto end = text.find_first_of(".[");
  if (end == std::string_view::npos)
    end = text.size();
  ref.scope = std::string{text.substr(0, end)};
  if (ref.scope == "input" || ref.scope == "context") {
    auto err = parse_path(text, end, ref.scope, ref.path);
    if (!err.empty())
      return err;
    return ref;
  }
  if (ref.scope != "steps")
    return "unknown scope '" + ref.scope + "' (input, context, steps)";
  if (end == text.size() || text[end] != '.')
    return std::string{"expected '.<step id>' after 'steps'"};
  auto id_end = text.find_first_of(".[", end + 1);
  if (id_end == std::string_view::npos)
    id_end = text.size();
  ref.step = std::string{text.substr(end + 1, id_end - end - 1)};
  if (ref.step.empty())
    return std::string{"empty step id after 'steps.'"};
  for (char c : ref.step)
    if (!is_step_id_char(c))
      return "invalid step id '" + ref.step
             + "' (letters, digits, '_' and '-')";
  auto after = "steps." + ref.step;
  std::string_view rest = text.substr(id_end);
  auto head = [&](std::string_view word) {
    return rest.size() > word.size() && rest[0] == '.'
           && rest.substr(1, word.size()) == word
           && (rest.size() == word.size() + 1 || rest[word.size() + 1] == '.'
               || rest[word.size() + 1] == '[');
  };
  if (head("status")) {
    ref.path.emplace_back("status");
    if (rest.size() > 7)
      return "nothing may follow '" + after + ".status'";
    return ref;
  }
  if (!head("output"))
    return "expected 'output' or 'status' after '" + after + "'";
  ref.path.emplace_back("output");
  auto err = parse_path(text, id_end + 7, "output", ref.path);
  if (!err.empty())
    return err;
  return ref;
}

std::vector<found_reference> find_references(const nlohmann::json& templ,
                                             std::vector<std::string>& errors) {
  std::vector<found_reference> out;
  find_in(templ, "", out, errors);
  return out;
}

nlohmann::json resolve_references(const nlohmann::json& templ,
                                  const nlohmann::json& scope) {
  if (templ.is_string())
    return resolve_string(templ.get_ref<const std::string&>(), scope);
  if (templ.is_object()) {
    auto out = json::object();
    for (const auto& [key, child] : templ.items())
      out[key] = resolve_references(child, scope);
    return out;
  }
  if (templ.is_array()) {
    auto out = json::array();
    for (const auto& child : templ)
      out.push_back(resolve_references(child, scope));
    return out;
  }
  return templ;
}

bool evaluate_condition(const std::string& when, const nlohmann::json& scope) {
  auto text = whole_reference(when);
  if (!text)
    throw reference_error("'" + when
                          + "': a condition must be exactly one reference");
  auto value = lookup(parse_or_throw(*text), scope);
  if (value.is_boolean())
    return value.get<bool>();
  if (value.is_null())
    return false;
  throw reference_error("${" + std::string{*text} + "}: is " + value.dump()
                        + ", not a boolean");
}

} // namespace mesh
