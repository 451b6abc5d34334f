#pragma once

// The workflow runner's state (workflow_runner.hpp): the definitions, the
// store, the runs under way and what each is waiting for. The rules that
// decide what happens next are pure (workflows/runs/workflow_run.hpp); this
// state applies them, persists each change and talks to the node's actors.
// Split by concern: workflow_runner.cpp (messages, requests, timers),
// workflow_engine.cpp (moving a run on, compensation, the end, resuming),
// workflow_steps.cpp (sending one step and reading its answer).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_names.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "protocol/service_key.hpp"
#include "protocol/status.hpp"
#include "telemetry/log.hpp"
#include "workflows/runs/run_store.hpp"
#include "workflows/runs/workflow_run.hpp"
#include "workflows/workflow_set.hpp"

namespace mesh::detail {

/// How one attempt of a step (or a compensation) ended.
struct step_outcome {
  status_code code = status_code::ok;
  nlohmann::json output;
  std::string error;
  std::string node;
};

/// How long the runner waits beyond a step's (or a compensation's) own
/// deadline before it gives the attempt up: the actor asked answers by the
/// deadline itself.
inline constexpr auto answer_margin = std::chrono::milliseconds{2000};

/// An actor that did not answer, in Mesh's words ("the router did not
/// answer in time"); an error of ours keeps its status and text.
step_outcome failed_request(const caf::error& err, const char* what);

/// The dispatch of a `call` step (or a compensation) of `run`.
pb::DispatchRequest call_request(const service_key& key,
                                 const nlohmann::json& params,
                                 const run_record& run,
                                 std::chrono::milliseconds deadline);

/// The outcome a DispatchResponse stands for.
step_outcome dispatch_outcome(const pb::DispatchResponse& r);

struct active_run {
  run_record rec;
  workflow_ptr def; ///< parsed from rec.definition
  size_t depth = 0; ///< 0 for a top-level run
  /// Callers waiting for the end (`workflow run` without --async).
  std::vector<caf::typed_response_promise<nlohmann::json>> waiters;
  /// Per step: unix ms when its next attempt is due (0: none waiting).
  std::vector<int64_t> retry_at;
  std::vector<size_t> to_compensate; ///< what is left, in order
  bool compensation_in_flight = false;
};

struct runner_counters {
  uint64_t started = 0;
  uint64_t resumed = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0; ///< failed, partial, cancelled, timed out
  uint64_t steps_run = 0;
  uint64_t step_retries = 0;
  uint64_t compensations = 0;
  uint64_t late_answers = 0; ///< of attempts no longer current
  uint64_t store_failures = 0;
  uint64_t unreadable = 0; ///< unfinished runs the store could not read
};

struct workflow_runner_state {
  using self_ptr = workflows_actor::pointer;

  self_ptr self = nullptr;
  workflow_runner_config cfg;
  workflow_set defs;
  std::unique_ptr<run_store> store;
  std::map<std::string, active_run> runs; ///< running (and compensating)
  runner_counters counters;
  bool draining = false;
  bool tick_armed = false;
  size_t finished_since_trim = 0;
  std::shared_ptr<spdlog::logger> log;
  int64_t wall_base = 0; ///< unix ms at spawn
  caf::actor_clock::time_point steady_base;
  /// Idempotency of handler paths, as the router last said (and until).
  std::map<std::string, std::pair<bool, int64_t>> idempotent_cache;

  static inline const char* name = actor_names::workflow_runner;

  workflow_runner_state() = default;
  workflow_runner_state(const workflow_runner_state&) = delete;
  workflow_runner_state& operator=(const workflow_runner_state&) = delete;

  /// Runs when the runner ends, however it ends (a crash included): every
  /// caller still waiting for a run gets `unavailable` rather than nothing.
  ~workflow_runner_state();

  // -- workflow_engine.cpp ---------------------------------------------------

  /// Starts a run of `def` (input already checked); returns its id, or
  /// "" when the store cannot write it.
  std::string start_run(workflow_ptr def, nlohmann::json input,
                        nlohmann::json context, std::string trace_id,
                        size_t depth, std::string parent_run = {},
                        std::string parent_step = {}, std::string id = {});
  /// Starts what can start, ends the run when nothing more can.
  void advance(const std::string& run_id);
  /// Stops the run: running steps fail with `why`; then compensation (under
  /// `stop`) and the end with `status`.
  void stop_run(active_run& run, run_status status, const std::string& why);
  /// Writes the run; a store failure is logged and counted (the run goes on
  /// in memory) and the result is false.
  bool persist(const active_run& run);
  /// Resumes the unfinished runs of the store (at start).
  void resume_all();
  /// Deadlines and retries that are due.
  void on_tick();

  // -- workflow_steps.cpp ----------------------------------------------------

  /// Resolves the step's references and sends its next attempt.
  void start_step(active_run& run, size_t step);
  /// The answer of attempt `attempt` of a step.
  /// The step's "workflow" record: its outcome (tracing only).
  void trace_step_result(const active_run& run, size_t step,
                         const step_outcome& out);
  /// Turns an answer that the run's record may not keep (an output above
  /// limits.max_payload_bytes, named by `what`) into a failure, and cuts a
  /// long error text (workflow_run.hpp).
  void bound_outcome(step_outcome& out, const std::string& what) const;
  void step_answered(const std::string& run_id, size_t step, uint32_t attempt,
                     step_outcome out);
  /// Sends the compensation of the next step in run.to_compensate.
  void compensate_next(active_run& run);
  /// A sub-workflow's run ended: its parent's step gets the result.
  void child_finished(const run_record& child);

  // -- workflow_runner.cpp -------------------------------------------------

  /// Arms the tick timer if runs are under way.
  void arm_tick();

  int64_t now_ms() const;

  /// The run `id` if it is under way, else null.
  active_run* find_run(const std::string& id);

private:
  void finish(active_run& run, run_status status);
  void end_run(active_run& run, run_status status, std::string error);
  void fail_now(active_run& run, size_t step, status_code code,
                std::string error);
  void dispatch_step(active_run& run, size_t step, nlohmann::json params);
  void send_call(const std::string& run_id, size_t step, uint32_t attempt,
                 const std::string& path, nlohmann::json params,
                 std::chrono::milliseconds deadline);
  void start_child(active_run& run, size_t step, nlohmann::json input);
  std::chrono::milliseconds step_deadline(const active_run& run,
                                          size_t step) const;
};

} // namespace mesh::detail
