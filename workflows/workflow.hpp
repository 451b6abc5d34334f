#pragma once

// Workflow definitions (seed 003; Conductor, Argo, Step Functions): one JSON
// file per workflow in a workflows folder, validated against
// config/schemas/workflow.schema.json (draft-07), then by our own rules:
// unique step ids, `depends_on` naming steps that exist, no cycle, every
// `${steps.<id>...}` reference naming an ancestor of the step that uses it,
// targets of the form their kind needs (`ns/Service/Method` for `call` and
// `compensate`), a valid draft-07 `input_schema`. Every problem names the
// file, the JSON pointer and the rule broken ("f.json: /steps/2/depends_on/0:
// unknown step 'nope'").
//
// Modes give each step its effective dependencies (`deps`):
// - sequential: the previous step (and any `depends_on`, which must name
//   earlier steps); one step runs at a time;
// - parallel: none; `depends_on` and references to other steps are errors;
// - dag: exactly `depends_on`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/json_schema.hpp"
#include "config/manifests/manifest.hpp" // manifest_load_error
#include "protocol/status.hpp"

namespace mesh {

enum class workflow_mode : uint8_t { sequential, parallel, dag };

/// What a failed step does to its run: `stop` starts nothing more and then
/// compensates; `continue` skips only the failed step's dependents.
enum class failure_mode : uint8_t { stop, continue_on };

/// What a step runs: a dispatch, a process, a publish, an emit (durable
/// tasks) or another workflow.
enum class step_kind : uint8_t { call, process, publish, emit, workflow };

const char* to_string(workflow_mode x) noexcept;
const char* to_string(failure_mode x) noexcept; ///< "stop", "continue"
const char* to_string(step_kind x) noexcept;    ///< the JSON key: "call", ...

/// How a failed step is tried again by the runner (each attempt is a whole
/// request through the pipeline, which may itself retry). The n-th retry
/// waits backoff x multiplier^(n-1), capped at max_backoff.
struct step_retry {
  uint32_t max_attempts = 1; ///< 1: no retry
  std::chrono::milliseconds backoff{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{10000};
  /// The failures retried; default: every status but invalid_argument,
  /// not_found and permission_denied.
  std::vector<status_code> on;

  bool retries(status_code code) const noexcept;
  std::chrono::milliseconds delay(uint32_t next_attempt) const noexcept;
};

/// A call that undoes a completed step; its params may reference the step's
/// own output as `${steps.<its id>.output...}` and anything its step could.
struct step_compensation {
  std::string call; ///< ns/Service/Method
  nlohmann::json params = nlohmann::json::object();
  std::chrono::milliseconds timeout{0}; ///< 0: the runner's default
};

struct step_definition {
  std::string id;
  step_kind kind = step_kind::call;
  /// ns/Service/Method (call), process name, topic, dataset or workflow name.
  std::string target;
  nlohmann::json params = nlohmann::json::object(); ///< a template
  std::vector<std::string> depends_on;              ///< as written
  std::vector<size_t> deps; ///< effective dependencies (indexes), mode applied
  std::string when;         ///< "${...}" that must be true; "" = always
  std::chrono::milliseconds timeout{0}; ///< 0: the run's remaining time
  step_retry retry;
  std::optional<step_compensation> compensate;
};

struct workflow_definition {
  std::string name;
  std::string file; ///< where it was loaded from ("" when built in code)
  std::string description;
  workflow_mode mode = workflow_mode::sequential;
  failure_mode on_failure = failure_mode::stop;
  std::chrono::milliseconds timeout{0}; ///< of a whole run; 0: none
  size_t max_parallel = 0;              ///< 0: the runner's default
  std::shared_ptr<const json_schema> input_schema; ///< null: any input
  /// What a run answers as its output (a template over the steps); null:
  /// {step id: output} of the steps that succeeded.
  nlohmann::json output;
  std::vector<step_definition> steps;
  nlohmann::json source; ///< the whole document, for `workflow show`

  /// The index of step `id`, or steps.size().
  size_t index_of(const std::string& id) const noexcept;
};

using workflow_ptr = std::shared_ptr<const workflow_definition>;

/// Checks a parsed workflow document (`file` only names it in errors).
std::variant<workflow_ptr, manifest_load_error>
parse_workflow(const nlohmann::json& doc, const std::string& file);

/// Reads and checks one workflow file (safe JSON parsing: depth limit,
/// UTF-8; a parse error names the line and column).
std::variant<workflow_ptr, manifest_load_error>
load_workflow(const std::string& path);

/// Empty when `input` satisfies the workflow's input_schema (or it has
/// none); else every violation: "the input does not match the input_schema
/// of workflow NAME:\n/pointer: message..." in clear words.
std::string check_input(const workflow_definition& def,
                        const nlohmann::json& input);

/// The embedded workflow schema.
const nlohmann::json& workflow_schema_json();

} // namespace mesh
