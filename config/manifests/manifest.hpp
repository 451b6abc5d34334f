#pragma once

// Process manifests (seed 000): one JSON file per business process in a
// folder, each naming a strategy and the versioned variants it chooses
// between. A manifest is validated against config/schemas/manifest.schema.
// json (draft-07), then by our own rules: unique variant ids, variant paths
// of the form namespace/Service/Method, a strategy that exists with args of
// the right shape (weights that sum to 1 for percentage_rollout, rules that
// name real variants for attribute_filter, ...), and an input_schema that
// is itself a valid draft-07 schema. Every problem names the file, the JSON
// pointer and the rule broken.

#include <map>
#include <memory>
#include <variant>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/json_schema.hpp"
#include "strategies/strategy.hpp"

namespace mesh {

struct manifest {
  std::string name;  ///< the process name: the file name without ".json"
  std::string file;  ///< where it was loaded from
  std::string description;
  std::string owner;
  std::string strategy_path; ///< as written
  nlohmann::json strategy_args;
  nlohmann::json input_schema_doc;
  nlohmann::json experiment; ///< null when absent
  std::vector<variant> variants;
  std::shared_ptr<const json_schema> input_schema;
  std::shared_ptr<const strategy> chooser; ///< prepared for this manifest
  nlohmann::json source; ///< the whole document, for `manifests show`

  /// Index of the variant called `id`, or variants.size().
  size_t index_of(const std::string& id) const;
};

using manifest_ptr = std::shared_ptr<const manifest>;

struct manifest_load_error {
  std::string file;
  std::vector<manifest_problem> problems;

  /// "file: /pointer: message" per problem, one per line.
  std::string to_string() const;

  /// [{"pointer", "message"}] (pointer "/" for the whole document).
  nlohmann::json to_json() const;
};

/// Loads one manifest file; its name is the file name without ".json".
/// Returns the manifest or every problem found.
std::variant<manifest_ptr, manifest_load_error>
load_manifest(const std::string& path);

/// Checks a parsed document (the file only names it in errors).
std::variant<manifest_ptr, manifest_load_error>
parse_manifest(const nlohmann::json& doc, const std::string& name,
               const std::string& file);

/// The *.json files of a folder, sorted; an error text if it is unreadable.
std::vector<std::string> manifest_files(const std::string& dir,
                                        std::string& error);

/// The embedded manifest schema.
const nlohmann::json& manifest_schema_json();

} // namespace mesh
