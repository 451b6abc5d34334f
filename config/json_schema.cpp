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

namespace mesh {

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
  ptr->source = schema;
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
  return out;
}

std::string context_to_pointer(const std::vector<std::string>& context) {
  std::string result;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']')
      continue; // "<root>"
    result += '/';
    for (char c : part.substr(1, part.size() - 2)) {
      if (c == '~')
        result += "~0";
      else if (c == '/')
        result += "~1";
      else
        result += c;
    }
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
