#pragma once

// Jobs (seed 002): one JSON file per job in a jobs folder, validated against
// config/schemas/job.schema.json (draft-07), then by our own rules: a
// runtime that exists, a target of the form its kind needs
// (namespace/Service/Method for `mesh`, a known process for `process`, a
// registered function for `dispatcher`), inputs and outputs that are valid
// dataset names, a job that does not feed itself. Every problem names the
// file, the JSON pointer and the rule broken.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/manifests/manifest.hpp" // manifest_problem, manifest_files
#include "tasks/retry_policy.hpp"

namespace mesh {

/// A runtime: a name that jobs use, mapped to a kind (how tasks run) with
/// its capabilities and the limits its jobs get unless they say otherwise.
/// The built-in kinds `mesh`, `process` and `dispatcher` are also runtimes
/// of the same name without any configuration; plug-ins add kinds.
struct runtime_spec {
  std::string name;
  std::string kind;
  std::vector<std::string> capabilities;
  size_t max_in_flight = 64;
  std::chrono::milliseconds lease{300000};
  bool lease_set = false; ///< config gave lease_ms (not the default)
  uint32_t max_attempts = 3;
};

/// The kinds every node has: mesh, process, dispatcher.
const std::vector<std::string>& builtin_task_kinds();

/// Runtimes by name.
using runtime_table = std::map<std::string, runtime_spec, std::less<>>;

/// The built-in runtimes (`mesh`, `process`, `dispatcher`) plus the
/// configured ones: config's "runtimes" object, {name: {"kind", ...}}.
/// Throws std::invalid_argument naming the runtime for an unknown kind.
runtime_table make_runtime_table(const nlohmann::json& configured,
                                 const std::vector<std::string>& kinds);

enum class job_priority : uint8_t { normal, backfill };

struct job_definition {
  std::string id;
  std::string file;
  std::string runtime;
  std::string kind; ///< the runtime's kind
  std::string target;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  job_priority priority = job_priority::normal;
  uint32_t max_attempts = 3;
  retry_policy retry;
  std::chrono::milliseconds lease{300000};
  /// Where a lease_ms other than the default came from: "" (the default),
  /// "the job file" or "runtime NAME".
  std::string lease_from;
  std::chrono::milliseconds heartbeat{0}; ///< 0: no heartbeat required
  size_t max_in_flight = 64;
  size_t max_queue_depth = 0;             ///< 0: unbounded
  std::chrono::milliseconds max_queue_age{0}; ///< 0: unbounded
  nlohmann::json source; ///< the whole document, for `job show`
};

using job_ptr = std::shared_ptr<const job_definition>;

/// Says whether `target` exists for `kind`: empty when it does, else why
/// not ("no process manifest named x").
using target_check
  = std::function<std::string(const std::string& kind, const std::string& target)>;

/// Checks a parsed job document (the file only names it in errors).
std::variant<job_ptr, manifest_load_error>
parse_job(const nlohmann::json& doc, const std::string& file,
          const runtime_table& runtimes, const target_check& check);

/// Reads and checks one job file.
std::variant<job_ptr, manifest_load_error>
load_job(const std::string& path, const runtime_table& runtimes,
         const target_check& check);

/// The embedded job schema.
const nlohmann::json& job_schema_json();

/// True for a valid dataset name: 1..128 characters of [A-Za-z0-9._-].
bool valid_dataset_name(const std::string& name) noexcept;

} // namespace mesh
