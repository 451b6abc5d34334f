#pragma once

// JSON Schema (draft-07) validation through valijson, for node configs,
// process manifests and manifests' input schemas. A schema is compiled once
// and can validate any number of documents; every violation is reported with
// the JSON pointer of the offending value.

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace mesh {

struct schema_violation {
  std::string pointer; ///< JSON pointer of the offending value, "" = root
  std::string message;
};

/// "<pointer or /> : <message>" for each violation, one per line.
std::string to_string(const std::vector<schema_violation>& xs);

class json_schema {
public:
  ~json_schema();
  json_schema(json_schema&&) noexcept;
  json_schema& operator=(json_schema&&) noexcept;

  /// Compiles `schema`. A schema that is not valid draft-07 (or uses a
  /// feature valijson cannot handle, such as a remote $ref) is an
  /// `invalid_argument` error saying why.
  static caf::expected<json_schema> compile(const nlohmann::json& schema);

  /// Every violation of `doc`; empty when valid.
  std::vector<schema_violation> validate(const nlohmann::json& doc) const;

private:
  struct impl;
  explicit json_schema(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

/// Compiles one of our own embedded schemas (node config, manifest, job,
/// workflow): it is part of the build, so a failure is a bug and throws
/// std::logic_error naming `what`, as does a number anywhere in it
/// without both a minimum and a maximum (valijson reads a number past 2^63
/// as negative: both bounds are what refuse it in clear words). Callers
/// keep the result in a static.
json_schema compile_embedded(const nlohmann::json& schema, const char* what);

/// The same violations in clearer words (config/schema_messages.cpp), for
/// node configs, manifests, jobs and workflows alike:
/// - an unknown key (additionalProperties false) is named, with the allowed
///   key it most likely meant ("unknown key 'lisen'; did you mean
///   'listen'?") and the allowed keys when they are few (or when nothing
///   is close); valijson's summary of the same at the parent goes;
/// - an enum names the value and the valid ones ("'verbose' is not one of:
///   trace, debug, ...");
/// - a type names the expected and the actual one ("expected integer, not
///   string 'ten'"), a pattern the value and the pattern;
/// - of a oneOf/anyOf, only the alternatives of the value's type speak
///   (one "expected null or string" when none has it).
/// `schema` is the schema `doc` was validated against.
std::vector<schema_violation> explain_violations(const nlohmann::json& schema,
                                                 const nlohmann::json& doc,
                                                 std::vector<schema_violation> vs);

/// Turns valijson's context path ("<root>", "[limits]", "[0]") into a JSON
/// pointer ("/limits/0").
std::string context_to_pointer(const std::vector<std::string>& context);

} // namespace mesh
