#pragma once

// References inside a step's params (Conductor's `${task.output.x}`, seed
// 003's `${steps.create_casefile.casefile_id}`):
//
//   ${input.customer.id}            the run's input
//   ${context.tenant}               the run's context
//   ${steps.create.output.items[0].sku}   a step's output; also items.0.sku
//   ${steps.create.status}          a step's status ("success", ...)
//
// A string that is exactly one reference takes the referenced JSON value,
// whatever its type ("${steps.a.output.count}" is the number 3); a
// reference inside a longer string is replaced by its text (strings as
// they are, other values as compact JSON). "$${" writes a literal "${".

#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh {

struct reference {
  std::string text;  ///< as written between "${" and "}"
  std::string scope; ///< "input", "context" or "steps"
  std::string step;  ///< for scope "steps"
  /// For "steps": "output" or "status" first, then fields and indexes
  /// (indexes as decimal strings); for "input"/"context": fields and
  /// indexes.
  std::vector<std::string> path;
};

/// Parses the text between "${" and "}"; an error says what is wrong
/// ("unknown scope 'inputs' (input, context, steps)").
std::variant<reference, std::string> parse_reference(std::string_view text);

/// Every reference in any string inside `templ`, each with the JSON
/// pointer of the string holding it; a malformed one (or an unclosed
/// "${") is an error "<pointer>: <why>" in `errors`.
struct found_reference {
  std::string pointer; ///< of the string within templ, "" for templ itself
  reference ref;
};
std::vector<found_reference> find_references(const nlohmann::json& templ,
                                             std::vector<std::string>& errors);

/// A failed resolution: names the reference and the missing part
/// ("${steps.a.output.user.id}: the output of step a has no field 'user'").
class reference_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Resolves every reference in `templ` against `scope`, a document
/// {"input": ..., "context": ..., "steps": {id: {"status", "output"}}}.
/// Throws reference_error for a reference to something `scope` lacks: a
/// missing field, an index past the end, a step not in scope, a step that
/// did not succeed (its status is named).
nlohmann::json resolve_references(const nlohmann::json& templ,
                                  const nlohmann::json& scope);

/// True when the `when` condition (a single reference) resolves to the
/// boolean true; false for false/null; throws reference_error when it does
/// not resolve or is not a boolean or null.
bool evaluate_condition(const std::string& when, const nlohmann::json& scope);

} // namespace mesh
