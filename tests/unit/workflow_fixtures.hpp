#pragma once

// Helpers shared by the workflow unit suites: run records for the JSON form
// of a run and its store (workflows.run_json, workflows.store), and small
// workflow documents with their problems (workflows.definition,
// workflows.definition_references). `has`, which finds one problem, is in
// task_fixtures.hpp.

#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "task_fixtures.hpp" // has
#include "workflows/workflow.hpp"
#include "workflows/runs/workflow_run.hpp"

namespace mesh::test {

using nlohmann::json;

// ---- runs -------------------------------------------------------------------

// Every field of a run, written without to_json, so that a round trip that
// loses a field shows up here even when to_json is the culprit.
inline std::string describe(const run_record& r) {
  auto steps = json::array();
  for (const auto& s : r.steps) {
    json c = nullptr;
    if (s.compensation)
      c = {s.compensation->status,     s.compensation->output,
           s.compensation->error,      s.compensation->node,
           s.compensation->started_ms, s.compensation->completed_ms};
    steps.push_back({to_string(s.status), s.output, s.error, s.error_status,
                     s.attempts, s.node, s.started_ms, s.completed_ms,
                     s.idempotent, s.detail, c});
  }
  return json{r.id,
              r.workflow,
              r.trace_id,
              to_string(r.status),
              r.input,
              r.context,
              r.definition,
              steps,
              r.completion_order,
              r.compensating,
              r.error,
              r.output,
              r.parent_run,
              r.parent_step,
              r.started_ms,
              r.completed_ms,
              r.deadline_ms}
      .dump();
}

// A run of a two-step definition (a, b), both pending; the definition is
// only data here.
inline run_record make_run_record(const std::string& id,
                                  const std::string& workflow,
                                  run_status status, int64_t started_ms,
                                  int64_t completed_ms = 0) {
  run_record r;
  r.id = id;
  r.workflow = workflow;
  r.trace_id = "trace-" + id;
  r.status = status;
  r.definition = {
      {"name", workflow},
      {"steps",
       {{{"id", "a"}, {"call", "ns/S/A"}}, {{"id", "b"}, {"call", "ns/S/B"}}}}};
  r.steps.resize(2);
  r.started_ms = started_ms;
  r.completed_ms = completed_ms;
  return r;
}

// Every field set, odd values included.
inline run_record full_record() {
  auto r = make_run_record("run-1", "orders", run_status::partial, 1000, 5000);
  r.definition["steps"].push_back({{"id", "c"}, {"emit", "ds"}});
  r.input = {{"order", 42}, {"big", 9007199254740993}, {"note", "caf\u00e9"}};
  r.context = {{"tenant", "acme"}};
  r.steps.resize(3);
  auto& a = r.steps[0];
  a.status = step_status::compensated;
  a.output = {{"ok", true}, {"list", {1, 2.5, "x", nullptr}}};
  a.attempts = 2;
  a.node = "node-a";
  a.started_ms = 1001;
  a.completed_ms = 1100;
  a.idempotent = true;
  a.detail = {{"cursor", 17}};
  a.compensation
      = compensation_result{"ok", "undone", "", "node-b", 4000, 4100};
  auto& b = r.steps[1];
  b.status = step_status::failed;
  b.error = "line\nbreak \"quoted\"";
  b.error_status = "handler_error";
  b.attempts = std::numeric_limits<uint32_t>::max();
  b.started_ms = 0;
  b.completed_ms = std::numeric_limits<int64_t>::max();
  b.detail = json::object();
  auto& s3 = r.steps[2];
  s3.status = step_status::skipped;
  s3.error = "dependency b failed";
  s3.detail = {{"sub_run", "run-9"}};
  // A failed compensation: no output, no times.
  s3.compensation
      = compensation_result{"unavailable", nullptr, "no node", "", 0, 0};
  r.completion_order = {0, 2};
  r.compensating = true;
  r.error = "step b failed";
  r.output = json::array({1, "two"});
  r.parent_run = "run-0";
  r.parent_step = "sub";
  r.deadline_ms = 9000;
  return r;
}

// ---- definitions ------------------------------------------------------------

// Three call steps a, b, c; `mode` unless empty.
inline json three_steps(const std::string& mode = "") {
  auto doc = json{{"name", "w"}, {"steps", json::array()}};
  if (!mode.empty())
    doc["mode"] = mode;
  for (const char* id : {"a", "b", "c"})
    doc["steps"].push_back({{"id", id}, {"call", "ns/Svc/M"}});
  return doc;
}

// `doc` as file "w.json": the workflow, failing the test if it is rejected.
inline workflow_ptr accepted(const json& doc) {
  auto result = parse_workflow(doc, "w.json");
  if (auto* err = std::get_if<manifest_load_error>(&result))
    CAF_FAIL("workflow was rejected: " << err->to_string());
  return std::get<workflow_ptr>(result);
}

// `doc` as file "w.json": its problems, failing the test if it is accepted.
inline std::vector<manifest_problem> problems(const json& doc) {
  auto result = parse_workflow(doc, "w.json");
  if (auto* err = std::get_if<manifest_load_error>(&result))
    return err->problems;
  CAF_FAIL("workflow was accepted: " << doc.dump());
  return {};
}

} // namespace mesh::test
