#include "config/json_schema.hpp"

// Without this, valijson prints and calls abort() on a malformed schema: a
// user's bad manifest would take the node down.
#define VALIJSON_USE_EXCEPTIONS 1

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "protocol/status.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh {

namespace {

// valijson 1.0 treats a boolean subschema `false` as `true` (everything
// passes). Draft-07 allows a boolean wherever a schema may stand; rewrite
// them as the equivalent objects before compiling: true -> {}, false ->
// {"not": {}}.
void normalize_booleans(nlohmann::json& schema);

nlohmann::json normalized(const nlohmann::json& x) {
  if (x.is_boolean())
    return x.get<bool>() ? nlohmann::json::object()
                         : nlohmann::json{{"not", nlohmann::json::object()}};
  auto copy = x;
  normalize_booleans(copy);
  return copy;
}

void normalize_booleans(nlohmann::json& schema) {
  if (!schema.is_object())
    return;
  // Keywords whose value is one schema.
  for (const char* key : {"additionalProperties", "additionalItems", "items",
                          "contains", "propertyNames", "if", "then", "else",
                          "not"})
    if (auto i = schema.find(key); i != schema.end() && !i->is_array())
      *i = normalized(*i);
  // Keywords whose value is a list of schemas.
  for (const char* key : {"allOf", "anyOf", "oneOf", "items"})
    if (auto i = schema.find(key); i != schema.end() && i->is_array())
      for (auto& x : *i)
        x = normalized(x);
  // Keywords whose value maps names to schemas.
  for (const char* key : {"properties", "patternProperties", "definitions",
                          "dependencies"})
    if (auto i = schema.find(key); i != schema.end() && i->is_object())
      for (auto& [name, x] : i->items())
        if (!x.is_array()) // dependencies may also list property names
          x = normalized(x);
}

} // namespace

struct json_schema::impl {
  nlohmann::json source; // valijson keeps references into the document
  valijson::Schema schema;
};

json_schema::json_schema(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}
json_schema::~json_schema() = default;
json_schema::json_schema(json_schema&&) noexcept = default;
json_schema& json_schema::operator=(json_schema&&) noexcept = default;

caf::expected<json_schema> json_schema::compile(const nlohmann::json& schema) {
  if (!schema.is_object() && !schema.is_boolean())
    return make_error(status_code::invalid_argument,
                      "a JSON schema must be an object or a boolean");
  auto ptr = std::make_unique<impl>();
  ptr->source = normalized(schema);
  try {
    valijson::SchemaParser parser{valijson::SchemaParser::kDraft7};
    valijson::adapters::NlohmannJsonAdapter adapter{ptr->source};
    parser.populateSchema(adapter, ptr->schema);
  } catch (const std::exception& e) {
    return make_error(status_code::invalid_argument,
                      std::string{"invalid JSON schema: "} + e.what());
  }
  return json_schema{std::move(ptr)};
}

std::vector<schema_violation>
json_schema::validate(const nlohmann::json& doc) const {
  valijson::Validator validator{valijson::Validator::kStrongTypes};
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter{doc};
  std::vector<schema_violation> out;
  try {
    if (validator.validate(impl_->schema, adapter, &results))
      return out;
  } catch (const std::exception& e) {
    out.push_back({"", std::string{"schema validation failed: "} + e.what()});
    return out;
  }
  valijson::ValidationResults::Error err;
  while (results.popError(err))
    out.push_back({context_to_pointer(err.context), err.description});
  // valijson also reports each enclosing object or array ("Failed to
  // validate against schema associated with property name 'x'"); those
  // only repeat a deeper violation, so they go when that one is listed.
  auto is_summary = [](const schema_violation& v) {
    return v.message.rfind("Failed to validate against schema associated", 0)
             == 0
           || v.message.rfind("Failed to validate item #", 0) == 0;
  };
  auto deeper = [&](const schema_violation& v) {
    for (const auto& o : out)
      if (o.pointer.size() > v.pointer.size()
          && o.pointer.compare(0, v.pointer.size(), v.pointer) == 0
          && o.pointer[v.pointer.size()] == '/' && !is_summary(o))
        return true;
    return false;
  };
  std::vector<schema_violation> kept;
  for (const auto& v : out)
    if (!is_summary(v) || !deeper(v))
      kept.push_back(v);
  return kept;
}

std::string context_to_pointer(const std::vector<std::string>& context) {
  std::string result;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']')
      continue; // "<root>"
    result += '/';
    result += json_pointer_token(
      std::string_view{part}.substr(1, part.size() - 2));
  }
  return result;
}

std::string to_string(const std::vector<schema_violation>& xs) {
  std::string result;
  for (const auto& x : xs) {
    if (!result.empty())
      result += '\n';
    result += x.pointer.empty() ? "/" : x.pointer;
    result += ": ";
    result += x.message;
  }
  return result;
}

} // namespace mesh
