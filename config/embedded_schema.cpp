// compile_embedded (json_schema.hpp): our own schemas, with every number
// bounded on both sides.

#include <algorithm>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "config/json_schema.hpp"

namespace mesh {

namespace {

using json = nlohmann::json;

/// Keywords whose values are data, not schemas.
const std::set<std::string, std::less<>> values{"default", "enum", "const",
                                                "examples"};

/// Keywords holding schemas by name (draft-07 and later): a member may be
/// called "default" and is still a schema ("dependencies" may also hold a
/// list of names, which holds no schema).
const std::set<std::string, std::less<>> by_name{
  "properties", "patternProperties", "definitions", "$defs", "dependencies",
  "dependentSchemas"};

// The first number (integer or not) of `schema` (at `at`) without both a
// minimum and a maximum, or "" when there is none. valijson reads an
// integer past 2^63 as a negative number, so a maximum alone lets one
// through, and a minimum alone refuses it in words that do not fit ("must
// be at least 1").
std::string unbounded_number(const json& schema, const std::string& at) {
  if (schema.is_array()) {
    for (size_t i = 0; i < schema.size(); ++i)
      if (auto p = unbounded_number(schema[i], at + "/" + std::to_string(i));
          !p.empty())
        return p;
    return {};
  }
  if (!schema.is_object())
    return {};
  auto type = schema.find("type");
  auto numeric = [](const json& t) {
    return t == "integer" || t == "number";
  };
  bool number = type != schema.end()
                && (numeric(*type)
                    || (type->is_array()
                        && std::any_of(type->begin(), type->end(), numeric)));
  if (number && (!schema.contains("minimum") || !schema.contains("maximum")))
    return at.empty() ? "/" : at;
  for (const auto& [key, sub] : schema.items()) {
    if (values.count(key) > 0) // data: a default of {"type": "integer"}
      continue;
    if (sub.is_object() && by_name.count(key) > 0) {
      for (const auto& [name, named] : sub.items())
        if (auto p = unbounded_number(named, at + "/" + key + "/" + name);
            !p.empty())
          return p;
      continue;
    }
    if (auto p = unbounded_number(sub, at + "/" + key); !p.empty())
      return p;
  }
  return {};
}

} // namespace

json_schema compile_embedded(const nlohmann::json& schema, const char* what) {
  if (auto at = unbounded_number(schema, ""); !at.empty())
    throw std::logic_error(std::string{"embedded "} + what + " schema: "
                           + at + " is a number without both a minimum "
                           "and a maximum");
  auto compiled = json_schema::compile(schema);
  if (!compiled)
    throw std::logic_error(std::string{"embedded "} + what
                           + " schema does not compile");
  return std::move(*compiled);
}

} // namespace mesh
