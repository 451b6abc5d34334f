#define CAF_SUITE workflows.run_json
#include "check.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflow_fixtures.hpp" // describe, full_record
#include "workflows/runs/workflow_run.hpp"

// Workflow runs as JSON: status names, the exact inverse of to_json, and
// strictness on bad documents. Their SQLite store is in run_store_test.cpp.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

namespace {

// The message of run_from_json's std::invalid_argument for `doc`.
std::string parse_error_of(const json& doc) {
  try {
    run_from_json(doc);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

CAF_TEST(status names round trip) {
  for (auto x :
       {step_status::pending, step_status::running, step_status::success,
        step_status::failed, step_status::skipped, step_status::compensated})
    CAF_CHECK(step_status_from(to_string(x)) == x);
  for (auto x :
       {run_status::running, run_status::success, run_status::failed,
        run_status::partial, run_status::cancelled, run_status::timed_out})
    CAF_CHECK(run_status_from(to_string(x)) == x);
  CAF_CHECK_EQUAL(std::string{to_string(run_status::timed_out)}, "timed_out");
  CAF_CHECK_EQUAL(std::string{to_string(step_status::compensated)},
                  "compensated");
  CAF_CHECK(!step_status_from("done"));
  CAF_CHECK(!run_status_from("Running"));
  CAF_CHECK(!run_status_from(""));
}

CAF_TEST(a full record round trips through json) {
  auto r = full_record();
  auto doc = to_json(r);
  auto back = run_from_json(doc);
  CAF_CHECK_EQUAL(describe(back), describe(r));
  CAF_CHECK_EQUAL(to_json(back).dump(), doc.dump());
  // And through text, as the store keeps it.
  auto again = run_from_json(json::parse(doc.dump()));
  CAF_CHECK_EQUAL(describe(again), describe(r));
  // The shape meshctl shows.
  auto steps = doc["steps"];
  CAF_REQUIRE_EQUAL(steps.size(), 3u);
  auto id0 = steps[0]["id"].get<std::string>();
  auto id2 = steps[2]["id"].get<std::string>();
  CAF_CHECK_EQUAL(id0, "a");
  CAF_CHECK_EQUAL(id2, "c");
  auto dur = steps[0]["duration_ms"].get<int64_t>();
  CAF_CHECK_EQUAL(dur, 99);
  auto comp = steps[0]["compensation"];
  CAF_CHECK_EQUAL(comp["duration_ms"].get<int64_t>(), 100);
  CAF_CHECK_EQUAL(comp["node"].get<std::string>(), "node-b");
  CAF_CHECK(steps[1].count("compensation") == 0);
  auto status = doc["status"].get<std::string>();
  CAF_CHECK_EQUAL(status, "partial");
  auto run_dur = doc["duration_ms"].get<int64_t>();
  CAF_CHECK_EQUAL(run_dur, 4000);
  auto order = doc["completion_order"].dump();
  CAF_CHECK_EQUAL(order, "[0,2]");
}

CAF_TEST(step ids fall back to their index without a definition) {
  run_record r;
  r.id = "bare";
  r.steps.resize(2);
  auto doc = to_json(r);
  auto id1 = doc["steps"][1]["id"].get<std::string>();
  CAF_CHECK_EQUAL(id1, "#1");
  auto dur = doc["duration_ms"].get<int64_t>(); // still running
  CAF_CHECK_EQUAL(dur, 0);
  CAF_CHECK_EQUAL(describe(run_from_json(doc)), describe(r));
}

CAF_TEST(malformed documents are rejected naming the field) {
  auto good = to_json(full_record());
  CAF_CHECK_EQUAL(parse_error_of(good), "no error");
  CAF_CHECK_EQUAL(parse_error_of(json::array()),
                  "run document: (root): not an object");
  // {where, new value (discarded: removed), the message after "run
  // document: "}.
  const json gone(json::value_t::discarded);
  struct bad_case {
    const char* pointer;
    json value;
    const char* why;
  };
  std::vector<bad_case> cases{
      {"/workflow", gone, "workflow: missing"},
      {"/trace_id", 7, "trace_id: not a string but number"},
      {"/status", "done", "status: unknown run status 'done'"},
      {"/input", gone, "input: missing"},
      {"/steps", json::object(), "steps: not an array but object"},
      {"/steps/1/status", "ok", "steps[1].status: unknown step status 'ok'"},
      {"/steps/2", 3, "steps[2]: not an object"},
      {"/steps/0/attempts", -1, "steps[0].attempts: out of range: -1"},
      {"/steps/0/attempts", 4294967296u,
       "steps[0].attempts: out of range: 4294967296"},
      {"/steps/0/idempotent", 1,
       "steps[0].idempotent: not a boolean but number"},
      {"/steps/0/detail", gone, "steps[0].detail: missing"},
      {"/steps/1/id", 1, "steps[1].id: not a string but number"},
      {"/steps/0/compensation/node", gone,
       "steps[0].compensation.node: missing"},
      {"/steps/0/compensation", "ok", "steps[0].compensation: not an object"},
      {"/completion_order/1", 3, "completion_order[1]: not a step index: 3"},
      {"/completion_order/0", "a",
       "completion_order[0]: not a step index: \"a\""},
      {"/compensating", "yes", "compensating: not a boolean but string"},
      {"/started_ms", 1.5, "started_ms: not an integer but number"},
      {"/deadline_ms", 9223372036854775808u,
       "deadline_ms: out of range: 9223372036854775808"},
      {"/duration_ms", "1s", "duration_ms: not an integer but string"},
  };
  for (const auto& c : cases) {
    auto doc = good;
    json::json_pointer ptr{c.pointer};
    if (c.value.is_discarded())
      doc[ptr.parent_pointer()].erase(ptr.back());
    else
      doc[ptr] = c.value;
    CAF_CHECK_EQUAL(parse_error_of(doc), std::string{"run document: "} + c.why);
  }
  // Derived fields may be left out.
  auto doc = good;
  doc.erase("duration_ms");
  doc["steps"][0].erase("id");
  doc["steps"][0].erase("duration_ms");
  CAF_CHECK_EQUAL(parse_error_of(doc), "no error");
}
