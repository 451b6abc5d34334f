#include "workflows/runs/workflow_run.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "tasks/task_json.hpp" // dump_lenient, as the run store writes
#include "workflows/graph/workflow_refs.hpp"

// The pure rules of a run. to_json, run_from_json and the status names are
// in run_json.cpp.

namespace mesh {

namespace {

// A run is checked against the definition it started with: a mismatch is
// a bug in the runner, not bad input.
void check_shape(const workflow_definition& def, const run_record& run) {
  if (run.steps.size() != def.steps.size())
    throw std::logic_error("run " + run.id + " has "
                           + std::to_string(run.steps.size())
                           + " steps, workflow " + def.name + " has "
                           + std::to_string(def.steps.size()));
  for (const auto& step : def.steps)
    for (auto d : step.deps)
      if (d >= def.steps.size())
        throw std::logic_error("step " + step.id + " of workflow " + def.name
                               + " depends on step index " + std::to_string(d));
}

bool has_output(step_status x) noexcept {
  return x == step_status::success || x == step_status::compensated;
}

// A dependency that lets its dependents start: it succeeded (and maybe was
// undone since), or it was skipped (Argo: a skipped dependency is complete;
// a step skipped for a failure never gets here, its dependents are skipped
// first under `continue`, blocked under `stop`).
bool dependency_met(step_status x) noexcept {
  return has_output(x) || x == step_status::skipped;
}

// Skipped because of a failure upstream, not because of its `when`: the
// runner's own skip reasons must not start with "dependency ".
bool skipped_for_failure(const step_result& r) noexcept {
  return r.status == step_status::skipped
         && r.error.compare(0, 11, "dependency ") == 0;
}

bool any_failed(const run_record& run) noexcept {
  return std::any_of(run.steps.begin(), run.steps.end(), [](const auto& r) {
    return r.status == step_status::failed;
  });
}

// The pending steps that may start, at most `cap` running at once.
std::vector<size_t> startable(const workflow_definition& def,
                              const run_record& run, size_t cap) {
  std::vector<size_t> ready;
  if (run.status != run_status::running || run.compensating)
    return ready;
  check_shape(def, run);
  if (def.on_failure == failure_mode::stop && any_failed(run))
    return ready;
  auto running = static_cast<size_t>(
      std::count_if(run.steps.begin(), run.steps.end(), [](const auto& r) {
        return r.status == step_status::running;
      }));
  for (size_t i = 0; i < def.steps.size() && running + ready.size() < cap;
       ++i) {
    if (run.steps[i].status != step_status::pending)
      continue;
    const auto& deps = def.steps[i].deps;
    if (std::all_of(deps.begin(), deps.end(), [&](size_t d) {
          return dependency_met(run.steps[d].status);
        }))
      ready.push_back(i);
  }
  return ready;
}

} // namespace

run_record make_run(const workflow_definition& def, std::string id,
                    std::string trace_id, nlohmann::json input,
                    nlohmann::json context, int64_t now_ms) {
  run_record run;
  run.id = std::move(id);
  run.workflow = def.name;
  run.trace_id = std::move(trace_id);
  run.status = run_status::running;
  run.input = std::move(input);
  run.context = std::move(context);
  run.definition = def.source;
  run.steps.resize(def.steps.size());
  run.started_ms = now_ms;
  auto timeout = def.timeout.count();
  run.deadline_ms = timeout > 0 ? now_ms + timeout : 0;
  return run;
}

nlohmann::json reference_scope(const workflow_definition& def,
                               const run_record& run) {
  check_shape(def, run);
  auto steps = nlohmann::json::object();
  for (size_t i = 0; i < def.steps.size(); ++i) {
    const auto& r = run.steps[i];
    steps[def.steps[i].id]
        = {{"status", to_string(r.status)},
           {"output", has_output(r.status) ? r.output : nlohmann::json{}}};
  }
  return {{"input", run.input}, {"context", run.context}, {"steps", steps}};
}

std::vector<size_t> skip_unreachable(const workflow_definition& def,
                                     run_record& run) {
  std::vector<size_t> marked;
  if (def.on_failure != failure_mode::continue_on)
    return marked;
  check_shape(def, run);
  // Dependencies may come later in the file (dag mode): repeat until stable.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < def.steps.size(); ++i) {
      auto& r = run.steps[i];
      if (r.status != step_status::pending)
        continue;
      const auto& deps = def.steps[i].deps;
      auto failed = std::find_if(deps.begin(), deps.end(), [&](size_t d) {
        return run.steps[d].status == step_status::failed;
      });
      auto skipped = std::find_if(deps.begin(), deps.end(), [&](size_t d) {
        return skipped_for_failure(run.steps[d]);
      });
      if (failed != deps.end())
        r.error = "dependency " + def.steps[*failed].id + " failed";
      else if (skipped != deps.end())
        r.error = "dependency " + def.steps[*skipped].id + " was skipped";
      else
        continue;
      r.status = step_status::skipped;
      marked.push_back(i);
      changed = true;
    }
  }
  return marked;
}

std::vector<size_t> ready_steps(const workflow_definition& def,
                                const run_record& run, size_t max_parallel) {
  size_t cap = def.max_parallel > 0 ? def.max_parallel : max_parallel;
  if (def.mode == workflow_mode::sequential)
    cap = 1;
  if (cap == 0) // no limit configured at all
    cap = std::numeric_limits<size_t>::max();
  return startable(def, run, cap);
}

bool run_settled(const workflow_definition& def, const run_record& run,
                 size_t) {
  // The cap is ignored: a step waiting for a free slot is not settled.
  auto running
      = std::any_of(run.steps.begin(), run.steps.end(), [](const auto& r) {
          return r.status == step_status::running;
        });
  return !running
         && startable(def, run, std::numeric_limits<size_t>::max()).empty();
}

run_status settled_status(const workflow_definition& def,
                          const run_record& run) {
  if (!any_failed(run))
    return run_status::success;
  return def.on_failure == failure_mode::stop ? run_status::failed
                                              : run_status::partial;
}

std::vector<size_t> compensation_order(const workflow_definition& def,
                                       const run_record& run) {
  std::vector<size_t> order;
  std::vector<bool> taken(def.steps.size(), false);
  for (auto i = run.completion_order.rbegin(); i != run.completion_order.rend();
       ++i) {
    auto k = *i;
    if (k >= def.steps.size() || k >= run.steps.size() || taken[k])
      continue;
    // A compensation that ended (and failed: the step is not
    // `compensated`) is not tried again, after a restart either.
    const auto& comp = run.steps[k].compensation;
    bool tried = comp.has_value() && comp->completed_ms > 0;
    if (run.steps[k].status == step_status::success
        && def.steps[k].compensate.has_value() && !tried) {
      order.push_back(k);
      taken[k] = true;
    }
  }
  return order;
}

size_t max_run_bytes(size_t steps, size_t definition_bytes,
                     size_t max_payload_bytes) noexcept {
  // Six payload-sized parts per step (output, error, compensation output
  // and error, and its output quoted twice more by the run's output
  // template) and four for the run (input, context, output, error), each
  // with 64 KiB for its keys, names and times.
  constexpr size_t bookkeeping = 64 * 1024;
  constexpr size_t none = std::numeric_limits<size_t>::max();
  size_t parts = 0;
  size_t part = 0;
  size_t result = 0;
  if (__builtin_mul_overflow(steps, size_t{6}, &parts)
      || __builtin_add_overflow(parts, size_t{4}, &parts)
      || __builtin_add_overflow(max_payload_bytes, bookkeeping, &part)
      || __builtin_mul_overflow(parts, part, &result)
      || __builtin_add_overflow(result, definition_bytes, &result))
    return none;
  return result;
}

void bound_error(std::string& error) {
  if (error.size() <= max_run_error_bytes)
    return;
  static const std::string cut = " ... (cut: longer than "
                                 + std::to_string(max_run_error_bytes)
                                 + " bytes)";
  auto n = max_run_error_bytes - cut.size();
  // Back to the first byte of a UTF-8 character.
  while (n > 0 && (static_cast<unsigned char>(error[n]) & 0xC0) == 0x80)
    --n;
  error.resize(n);
  error += cut;
}

std::string bounded_output(const nlohmann::json& output,
                           size_t max_payload_bytes, const std::string& what) {
  if (max_payload_bytes == 0)
    return {};
  auto size = dump_lenient(output).size();
  if (size <= max_payload_bytes)
    return {};
  return what + " is " + std::to_string(size)
         + " bytes, above limits.max_payload_bytes ("
         + std::to_string(max_payload_bytes) + ")";
}

std::string first_failure(const workflow_definition& def,
                          const run_record& rec) {
  for (size_t i = 0; i < rec.steps.size(); ++i) {
    if (rec.steps[i].status != step_status::failed)
      continue;
    // A reference that did not resolve names its step already.
    auto prefix = "step " + def.steps[i].id + ": ";
    const auto& error = rec.steps[i].error;
    return error.rfind(prefix, 0) == 0
             ? error
             : "step " + def.steps[i].id + " failed: " + error;
  }
  return {};
}

bool fill_output(const workflow_definition& def, run_record& rec,
                 size_t max_payload_bytes) {
  if (def.output.is_null()) {
    rec.output = nlohmann::json::object();
    for (size_t i = 0; i < rec.steps.size(); ++i)
      if (rec.steps[i].status == step_status::success)
        rec.output[def.steps[i].id] = rec.steps[i].output;
  } else {
    try {
      rec.output = resolve_references(def.output, reference_scope(def, rec));
    } catch (const reference_error& e) {
      rec.output = nullptr;
      rec.error = std::string{"output: "} + e.what();
      bound_error(rec.error);
      return false;
    }
  }
  auto why = bounded_output(rec.output, max_payload_bytes,
                            "output: the run's output");
  if (why.empty())
    return true;
  rec.output = nullptr;
  rec.error = why + (def.output.is_null()
                       ? " (every step's output, as no output template "
                         "picks what to keep)"
                       : "");
  return false;
}

} // namespace mesh
