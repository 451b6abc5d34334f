#define CAF_SUITE workflows.run_rules
#include "check.hpp"

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflows/runs/workflow_run.hpp"

// The rules that move a run forward, on definitions built by hand (deps
// set directly, as the parser would): a new run, the reference scope,
// which steps may start in each mode and under the parallelism cap, what a
// failure does under `stop` and `continue`, the status a settled run ends
// with, and the order of compensation.

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using indexes = std::vector<size_t>;

// A workflow with steps s0, s1, ... and the given effective dependencies.
workflow_definition make_def(workflow_mode mode,
                             std::vector<std::vector<size_t>> deps,
                             failure_mode on_failure = failure_mode::stop) {
  workflow_definition def;
  def.name = "wf";
  def.mode = mode;
  def.on_failure = on_failure;
  def.source = {{"name", "wf"}};
  for (size_t i = 0; i < deps.size(); ++i) {
    step_definition step;
    step.id = "s" + std::to_string(i);
    step.target = "ns/Svc/M";
    step.deps = deps[i];
    def.steps.push_back(step);
  }
  return def;
}

// The sequential form: each step depends on the previous one.
workflow_definition sequential(size_t n) {
  std::vector<std::vector<size_t>> deps(n);
  for (size_t i = 1; i < n; ++i)
    deps[i] = {i - 1};
  return make_def(workflow_mode::sequential, deps);
}

run_record start(const workflow_definition& def) {
  return make_run(def, "run-1", "trace-1", json::object(), json::object(),
                  1000);
}

void mark(run_record& run, std::initializer_list<size_t> steps,
          step_status status) {
  for (auto i : steps)
    run.steps[i].status = status;
}

// A step that succeeded, recorded as the runner does.
void succeed(run_record& run, size_t i, json output = json::object()) {
  run.steps[i].status = step_status::success;
  run.steps[i].output = std::move(output);
  run.completion_order.push_back(i);
}

} // namespace

CAF_TEST(a new run has every step pending and a deadline from the timeout) {
  auto def = sequential(3);
  def.timeout = 5000ms;
  auto run = make_run(def, "run-1", "trace-1", json{{"x", 1}},
                      json{{"tenant", "acme"}}, 1000);
  CAF_CHECK_EQUAL(run.id, "run-1");
  CAF_CHECK_EQUAL(run.workflow, "wf");
  CAF_CHECK_EQUAL(run.trace_id, "trace-1");
  CAF_CHECK(run.status == run_status::running);
  CAF_CHECK_EQUAL(run.input, json({{"x", 1}}));
  CAF_CHECK_EQUAL(run.context, json({{"tenant", "acme"}}));
  CAF_CHECK_EQUAL(run.definition, def.source);
  CAF_REQUIRE_EQUAL(run.steps.size(), 3u);
  for (const auto& r : run.steps) {
    CAF_CHECK(r.status == step_status::pending);
    CAF_CHECK(r.output.is_null());
    CAF_CHECK_EQUAL(r.attempts, 0u);
  }
  CAF_CHECK(run.completion_order.empty());
  CAF_CHECK(!run.compensating);
  CAF_CHECK_EQUAL(run.started_ms, 1000);
  CAF_CHECK_EQUAL(run.deadline_ms, 6000);
  CAF_CHECK_EQUAL(run.completed_ms, 0);
  def.timeout = 0ms;
  CAF_CHECK_EQUAL(start(def).deadline_ms, 0);
}

CAF_TEST(the reference scope shows outputs only of succeeded steps) {
  auto def = sequential(4);
  auto run = make_run(def, "r", "t", json{{"x", 1}}, json{{"c", 2}}, 0);
  succeed(run, 0, {{"id", 7}});
  run.steps[1].status = step_status::compensated;
  run.steps[1].output = {{"id", 8}};
  run.steps[2].status = step_status::failed;
  run.steps[2].output = {{"partial", true}}; // never shown
  auto expected = json::parse(R"({
    "input": {"x": 1}, "context": {"c": 2},
    "steps": {
      "s0": {"status": "success", "output": {"id": 7}},
      "s1": {"status": "compensated", "output": {"id": 8}},
      "s2": {"status": "failed", "output": null},
      "s3": {"status": "pending", "output": null}}})");
  CAF_CHECK_EQUAL(reference_scope(def, run), expected);
}

CAF_TEST(sequential runs one step at a time in order) {
  auto def = sequential(3);
  auto run = start(def);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{0});
  mark(run, {0}, step_status::running);
  CAF_CHECK(ready_steps(def, run, 8).empty());
  succeed(run, 0);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{1});
  // Even a sequential step without a dependency waits for the running one.
  def.steps[2].deps.clear();
  mark(run, {1}, step_status::running);
  CAF_CHECK(ready_steps(def, run, 8).empty());
  mark(run, {1}, step_status::pending);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{1});
}

CAF_TEST(parallel starts every step up to the cap) {
  auto def = make_def(workflow_mode::parallel, {{}, {}, {}, {}, {}});
  auto run = start(def);
  CAF_CHECK_EQUAL(ready_steps(def, run, 10), (indexes{0, 1, 2, 3, 4}));
  CAF_CHECK_EQUAL(ready_steps(def, run, 2), (indexes{0, 1}));
  CAF_CHECK_EQUAL(ready_steps(def, run, 0), (indexes{0, 1, 2, 3, 4}));
  // Two running of a cap of three: one more, the lowest pending.
  mark(run, {0, 2}, step_status::running);
  CAF_CHECK_EQUAL(ready_steps(def, run, 3), indexes{1});
  // The cap reached: nothing, and the run is not settled.
  mark(run, {1}, step_status::running);
  CAF_CHECK(ready_steps(def, run, 3).empty());
  CAF_CHECK(!run_settled(def, run, 3));
  // The definition's own cap beats the runner's.
  def.max_parallel = 4;
  CAF_CHECK_EQUAL(ready_steps(def, run, 3), indexes{3});
  def.max_parallel = 1;
  CAF_CHECK(ready_steps(def, run, 100).empty());
  mark(run, {0, 1, 2}, step_status::success);
  CAF_CHECK_EQUAL(ready_steps(def, run, 100), indexes{3});
}

CAF_TEST(a dag starts a step when all its dependencies are done) {
  // The diamond 0 -> {1, 2} -> 3, and 4 after 1 only.
  auto def = make_def(workflow_mode::dag, {{}, {0}, {0}, {1, 2}, {1}});
  auto run = start(def);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{0});
  succeed(run, 0);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), (indexes{1, 2}));
  mark(run, {1, 2}, step_status::running);
  CAF_CHECK(ready_steps(def, run, 8).empty());
  succeed(run, 1);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{4});
  // A skipped (when false) or compensated dependency counts as done.
  run.steps[2].status = step_status::skipped;
  run.steps[2].error = "when ${input.flag} is false";
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), (indexes{3, 4}));
  run.steps[1].status = step_status::compensated;
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), (indexes{3, 4}));
  // Nothing starts once the run is over or compensating.
  run.compensating = true;
  CAF_CHECK(ready_steps(def, run, 8).empty());
  run.compensating = false;
  run.status = run_status::cancelled;
  CAF_CHECK(ready_steps(def, run, 8).empty());
}

CAF_TEST(under stop a failure blocks every new start) {
  auto def = make_def(workflow_mode::dag, {{}, {}, {0}, {}});
  auto run = start(def);
  mark(run, {0}, step_status::running);
  mark(run, {1}, step_status::failed);
  // 3 is independent and could run, but the run is stopping.
  CAF_CHECK(ready_steps(def, run, 8).empty());
  CAF_CHECK(skip_unreachable(def, run).empty());
  CAF_CHECK(run.steps[2].status == step_status::pending);
  CAF_CHECK(!run_settled(def, run, 8)); // 0 still running
  succeed(run, 0);
  CAF_CHECK(run_settled(def, run, 8));
  CAF_CHECK(settled_status(def, run) == run_status::failed);
}

CAF_TEST(under continue a failure skips its dependents transitively) {
  // 0 -> 1 -> 2 -> 3 and 0 -> 4; 5 independent; 6 after 5 and 3.
  auto def = make_def(workflow_mode::dag, {{}, {0}, {1}, {2}, {0}, {}, {5, 3}},
                      failure_mode::continue_on);
  auto run = start(def);
  succeed(run, 0);
  mark(run, {1}, step_status::failed);
  auto marked = skip_unreachable(def, run);
  CAF_CHECK_EQUAL(marked, (indexes{2, 3, 6}));
  CAF_CHECK(run.steps[2].status == step_status::skipped);
  CAF_CHECK_EQUAL(run.steps[2].error, "dependency s1 failed");
  CAF_CHECK_EQUAL(run.steps[3].error, "dependency s2 was skipped");
  CAF_CHECK_EQUAL(run.steps[6].error, "dependency s3 was skipped");
  CAF_CHECK_EQUAL(run.steps[6].completed_ms, 0);
  // Independent steps go on: 4 (after the succeeded 0) and 5.
  CAF_CHECK(run.steps[4].status == step_status::pending);
  CAF_CHECK(run.steps[5].status == step_status::pending);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), (indexes{4, 5}));
  CAF_CHECK(!run_settled(def, run, 8));
  // Nothing more to mark a second time.
  CAF_CHECK(skip_unreachable(def, run).empty());
  succeed(run, 4);
  succeed(run, 5);
  CAF_CHECK(run_settled(def, run, 8));
  CAF_CHECK(settled_status(def, run) == run_status::partial);
}

CAF_TEST(a skip reaches dependents written before their dependency) {
  // 0 after 2, 2 after 1: a dag may list a dependent first.
  auto def
      = make_def(workflow_mode::dag, {{2}, {}, {1}}, failure_mode::continue_on);
  auto run = start(def);
  mark(run, {1}, step_status::failed);
  CAF_CHECK_EQUAL(skip_unreachable(def, run), (indexes{2, 0}));
  CAF_CHECK_EQUAL(run.steps[0].error, "dependency s2 was skipped");
}

CAF_TEST(a step skipped by its condition does not skip its dependents) {
  auto def
      = make_def(workflow_mode::dag, {{}, {0}, {1}}, failure_mode::continue_on);
  auto run = start(def);
  run.steps[0].status = step_status::skipped;
  run.steps[0].error = "when ${input.flag} is false";
  CAF_CHECK(skip_unreachable(def, run).empty());
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{1});
  succeed(run, 1);
  CAF_CHECK_EQUAL(ready_steps(def, run, 8), indexes{2});
  succeed(run, 2);
  CAF_CHECK(run_settled(def, run, 8));
  CAF_CHECK(settled_status(def, run) == run_status::success);
}

CAF_TEST(a run is settled only when nothing runs and nothing can start) {
  auto def = make_def(workflow_mode::parallel, {{}, {}, {}});
  auto run = start(def);
  CAF_CHECK(!run_settled(def, run, 1));
  mark(run, {0}, step_status::running);
  // The cap is full, yet steps wait: not settled.
  CAF_CHECK(!run_settled(def, run, 1));
  mark(run, {0, 1}, step_status::success);
  CAF_CHECK(!run_settled(def, run, 1));
  mark(run, {2}, step_status::skipped);
  CAF_CHECK(run_settled(def, run, 1));
  CAF_CHECK(settled_status(def, run) == run_status::success);
  // Sequential, stopped after a failure: settled with steps left pending.
  auto seq = sequential(3);
  auto failed = start(seq);
  mark(failed, {0}, step_status::failed);
  CAF_CHECK(run_settled(seq, failed, 4));
  CAF_CHECK(settled_status(seq, failed) == run_status::failed);
}

CAF_TEST(compensation runs backwards over succeeded steps with a compensate) {
  auto def = make_def(workflow_mode::dag, {{}, {}, {}, {}, {}});
  for (size_t i : {0, 1, 2, 4})
    def.steps[i].compensate = step_compensation{"ns/Svc/Undo"};
  auto run = start(def);
  // Completed in the order 2, 0, 3, 1; 4 failed.
  succeed(run, 2);
  succeed(run, 0);
  succeed(run, 3); // no compensate
  succeed(run, 1);
  mark(run, {4}, step_status::failed);
  CAF_CHECK_EQUAL(compensation_order(def, run), (indexes{1, 0, 2}));
  // A step already compensated is not undone twice.
  run.steps[0].status = step_status::compensated;
  CAF_CHECK_EQUAL(compensation_order(def, run), (indexes{1, 2}));
  // One whose compensation ended (and failed) is not tried again, after a
  // restart either; one whose compensation was still running is.
  run.steps[1].compensation = compensation_result{};
  run.steps[1].compensation->completed_ms = 42;
  run.steps[2].compensation = compensation_result{};
  CAF_CHECK_EQUAL(compensation_order(def, run), (indexes{2}));
  auto none = start(def);
  CAF_CHECK(compensation_order(def, none).empty());
}

CAF_TEST(a long error is cut at a character boundary and says so) {
  std::string error;
  for (size_t i = 0; i < 10000; ++i)
    error += "\xc3\xa9"; // é: two bytes
  auto kept = error;
  bound_error(kept);
  CAF_CHECK_LESS_OR_EQUAL(kept.size(), max_run_error_bytes);
  MESH_CHECK_MSG(kept.find("(cut: longer than 16384 bytes)")
                   != std::string::npos,
                 kept.substr(kept.size() - 64));
  // What is left of the text is whole characters: an even number of bytes.
  auto text = kept.substr(0, kept.find(" ... (cut"));
  CAF_CHECK_EQUAL(text.size() % 2, 0u);
  CAF_CHECK_EQUAL(text, error.substr(0, text.size()));
  // A short one is left alone.
  std::string short_error = "it broke";
  bound_error(short_error);
  CAF_CHECK_EQUAL(short_error, "it broke");
}

CAF_TEST(an output is kept only within the payload limit) {
  json output{{"blob", std::string(100, 'x')}};
  auto size = output.dump().size();
  CAF_CHECK_EQUAL(bounded_output(output, size, "the output"), "");
  CAF_CHECK_EQUAL(bounded_output(output, 0, "the output"), "");
  CAF_CHECK_EQUAL(bounded_output(output, size - 1, "the output"),
                  "the output is " + std::to_string(size)
                    + " bytes, above limits.max_payload_bytes ("
                    + std::to_string(size - 1) + ")");
}
