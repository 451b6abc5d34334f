#pragma once

// One run of a workflow as data, and the pure rules that move it forward:
// which steps may start, what a failure does to the others, when the run
// is over and with what status, which steps to compensate and in what
// order. The workflow runner (actors/workflows/) owns the messages and the
// timers; everything it decides comes from here, so the rules are tested
// without actors.
//
// Statuses:
//   step: pending -> running -> success | failed; pending -> skipped (its
//         `when` was false, or a dependency failed under `continue`);
//         success -> compensated (its compensation succeeded).
//   run:  running -> success | failed | partial | cancelled | timed_out.
//         `partial`: `continue` mode and at least one step failed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflows/workflow.hpp"

namespace mesh {

enum class step_status : uint8_t {
  pending, running, success, failed, skipped, compensated
};

enum class run_status : uint8_t {
  running, success, failed, partial, cancelled, timed_out
};

const char* to_string(step_status x) noexcept;
const char* to_string(run_status x) noexcept;
std::optional<step_status> step_status_from(const std::string& name) noexcept;
std::optional<run_status> run_status_from(const std::string& name) noexcept;

/// The outcome of a step's compensation.
struct compensation_result {
  std::string status;  ///< a Mesh status name ("ok", "handler_error", ...)
  nlohmann::json output;
  std::string error;
  std::string node;
  int64_t started_ms = 0;
  int64_t completed_ms = 0;
};

struct step_result {
  step_status status = step_status::pending;
  nlohmann::json output;     ///< null until it succeeds
  std::string error;         ///< why it failed or was skipped
  std::string error_status;  ///< the failure's Mesh status name, "" if none
  uint32_t attempts = 0;
  std::string node;          ///< who answered the last attempt
  int64_t started_ms = 0;    ///< unix milliseconds of the first attempt
  int64_t completed_ms = 0;
  /// Known when the step started: its handler may run twice (a step in
  /// flight at a crash is then run again rather than failed).
  bool idempotent = false;
  /// Kind-specific memory across a crash: the emit's cursor, the
  /// sub-workflow's run id.
  nlohmann::json detail = nlohmann::json::object();
  std::optional<compensation_result> compensation;

  int64_t duration_ms() const noexcept {
    return completed_ms > 0 ? completed_ms - started_ms : 0;
  }
};

struct run_record {
  std::string id;
  std::string workflow;
  std::string trace_id;
  run_status status = run_status::running;
  nlohmann::json input = nlohmann::json::object();
  nlohmann::json context = nlohmann::json::object();
  /// The definition the run started with (its source document), so that a
  /// reload does not change a run under way or one resumed after a crash.
  nlohmann::json definition;
  std::vector<step_result> steps; ///< one per definition step, same order
  /// Steps in the order they succeeded: compensation runs it backwards.
  std::vector<size_t> completion_order;
  bool compensating = false;
  /// While compensating: the status the run ends with (failed, cancelled,
  /// timed_out); running otherwise.
  run_status ending = run_status::running;
  std::string error;     ///< why the run did not succeed
  nlohmann::json output; ///< set when it succeeds (or ends partial)
  std::string parent_run;  ///< for a sub-workflow's run
  std::string parent_step;
  int64_t started_ms = 0;
  int64_t completed_ms = 0;
  int64_t deadline_ms = 0; ///< unix ms; 0: none

  bool finished() const noexcept {
    return status != run_status::running;
  }
};

/// A new run of `def`: every step pending.
run_record make_run(const workflow_definition& def, std::string id,
                    std::string trace_id, nlohmann::json input,
                    nlohmann::json context, int64_t now_ms);

/// The document references resolve against: {"input", "context", "steps":
/// {id: {"status", "output"}}} (steps that have not succeeded have a null
/// output).
nlohmann::json reference_scope(const workflow_definition& def,
                               const run_record& run);

/// Marks pending steps that can never run as skipped: under `continue`,
/// the dependents of a failed or dependency-skipped step ("dependency b
/// failed"). Returns the steps it marked.
std::vector<size_t> skip_unreachable(const workflow_definition& def,
                                     run_record& run);

/// The pending steps that may start now, in file order: every dependency
/// succeeded or was skipped, the run is running and not stopping (no failed
/// step under `stop`), and at most `max_parallel` steps run at once
/// (sequential: 1). Call skip_unreachable first.
std::vector<size_t> ready_steps(const workflow_definition& def,
                                const run_record& run, size_t max_parallel);

/// True when no step is running and none can start any more.
bool run_settled(const workflow_definition& def, const run_record& run,
                 size_t max_parallel);

/// The status a settled run ends with: success, failed (`stop` with a
/// failed step), partial (`continue` with failures).
run_status settled_status(const workflow_definition& def,
                          const run_record& run);

/// The steps to compensate, in order: succeeded steps with a `compensate`
/// whose compensation has not ended yet, latest completion first.
std::vector<size_t> compensation_order(const workflow_definition& def,
                                       const run_record& run);

/// The most a stored run (its document without the definition) can hold
/// when every payload is at most `max_payload_bytes`: the input, the
/// context and the run's output and error, and per step an output, an
/// error, a compensation's output and error and room for its output quoted
/// twice more (the run's output template may quote every step's), each
/// with room for its bookkeeping, and a copy of the definition's size for
/// templates. Saturates instead of overflowing. The run store sets aside a
/// larger row unread: the file is damaged. The runner keeps real runs
/// within it: a step's output, a compensation's and the run's own are at
/// most `max_payload_bytes` (bounded_output), every error text at most
/// max_run_error_bytes (bound_error).
size_t max_run_bytes(size_t steps, size_t definition_bytes,
                     size_t max_payload_bytes) noexcept;

/// The longest error text a run keeps (a step's, a compensation's, its
/// own): well within the room max_run_bytes gives each part.
inline constexpr size_t max_run_error_bytes = 16 * 1024;

/// Cuts `error` to max_run_error_bytes, at a character boundary, and says
/// so at its end.
void bound_error(std::string& error);

/// Empty when `output`, as the run store writes it, is at most
/// `max_payload_bytes` (or the bound is 0); else why it cannot be kept
/// ("... is N bytes, above limits.max_payload_bytes (M)"), starting with
/// `what`.
std::string bounded_output(const nlohmann::json& output,
                           size_t max_payload_bytes, const std::string& what);

/// The first failed step, as the run's error ("step b failed: ...").
std::string first_failure(const workflow_definition& def,
                          const run_record& run);

/// Sets the run's output: its template resolved, or every successful step's
/// output by id. False when there is none to keep: a reference that does
/// not resolve, or an output larger than `max_payload_bytes` (0: no bound;
/// the output is answered to callers and feeds a parent's step). The
/// output is then null and the error says why ("output: ..."); a run whose
/// steps all succeeded fails, a partial one stays partial.
bool fill_output(const workflow_definition& def, run_record& run,
                 size_t max_payload_bytes);

/// JSON for the store and for meshctl: every field above; steps as an
/// array of {"id", "status", "output", "error", "error_status",
/// "attempts", "node", "started_ms", "completed_ms", "duration_ms",
/// "idempotent", "detail", "compensation"?}, plus "duration_ms" of the run.
nlohmann::json to_json(const run_record& run);

/// The inverse of to_json; throws std::invalid_argument naming the field
/// for a malformed document.
run_record run_from_json(const nlohmann::json& doc);

} // namespace mesh
