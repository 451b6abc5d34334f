#define CAF_SUITE cluster.workflows_crash
#include "check.hpp"

#include <string>
#include <vector>

#include "workflow_cluster.hpp"

// Workflows (seed 003) and kill -9 of the node running them. The runner
// writes every change of a run before anything depends on it; after a
// restart with the same id and data dir it resumes each unfinished run:
// completed steps keep their results (a non-idempotent one never runs
// twice); a step in flight at the crash runs again when its handler is
// idempotent and otherwise fails with "interrupted by a node restart", and
// the run's failure policy applies (compensation under `stop`).
//
// The call log (MESH_TEST_WF_LOG, one line per handler call, written as the
// call starts) outlives every kill and counts calls per method.

using namespace mesh::test;
using nlohmann::json;

namespace {

/// The diamond of workflows_test.cpp, whose label step (idempotent, on
/// node B) takes input.label_ms.
json slow_diamond() {
  return json::parse(R"({
    "name": "slow_diamond",
    "mode": "dag",
    "steps": [
      {"id": "create", "call": "wf/Orders/Create",
       "params": {"sku": "${input.sku}", "qty": 1}},
      {"id": "reserve", "call": "wf/Stock/Reserve", "depends_on": ["create"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "sku": "${steps.create.output.items[0].sku}"}},
      {"id": "charge", "call": "wf/Pay/Charge", "depends_on": ["create"],
       "params": {"order_id": "${steps.create.output.order_id}", "amount": 5}},
      {"id": "label", "call": "wf/Ship/Label", "depends_on": ["reserve", "charge"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "reservation": "${steps.reserve.output.reservation}",
                  "ms": "${input.label_ms}"}},
      {"id": "confirm", "call": "wf/Orders/Confirm", "depends_on": ["label", "charge"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "charge_id": "${steps.charge.output.charge_id}",
                  "label": "${steps.label.output.label}"}}
    ]
  })");
}

/// create -> a slow middle step (`method`, sleeping input.ms) -> confirm;
/// create is compensated by Orders/Cancel.
json slow_chain(const std::string& name, const std::string& method) {
  auto doc = json::parse(R"({
    "mode": "sequential",
    "on_failure": "stop",
    "steps": [
      {"id": "create", "call": "wf/Orders/Create", "params": {"sku": "${input.sku}"},
       "compensate": {"call": "wf/Orders/Cancel",
                      "params": {"order_id": "${steps.create.output.order_id}"}}},
      {"id": "slow", "call": "", "params": {"ms": "${input.ms}"}},
      {"id": "confirm", "call": "wf/Orders/Confirm",
       "params": {"order_id": "${steps.create.output.order_id}",
                  "slept": "${steps.slow.output.slept_ms}"}}
    ]
  })");
  doc["name"] = name;
  doc["steps"][1]["call"] = method;
  return doc;
}

/// Waits until step `step` of run `id` is running and its handler has been
/// called (its line is in the call log): the call is in flight.
bool await_in_flight(const temp_dir& dir, const std::string& http,
                     const std::string& id, const std::string& trace,
                     const std::string& step, const std::string& method) {
  json last;
  bool ok = await_condition([&] {
    last = run_of(http, id);
    return step_status_of(last, step) == "running"
           && calls_of(call_log(dir), method, trace) == 1;
  });
  if (!ok)
    CAF_MESSAGE("step " << step << " of run " << id << " not in flight: "
                        << step_summary(last));
  return ok;
}

} // namespace

CAF_TEST(kill -9 of the node running a diamond DAG across three nodes) {
  auto start = clock_type::now();
  temp_dir dir;
  auto folder = write_workflows(dir, {slow_diamond()});
  auto b = start_wf_node(dir, {"B", "Stock,Ship", {}});
  auto c = start_wf_node(dir, {"C", "Pay,Orders/Confirm", {}});
  wf_node_spec a_spec{"A",
                      "Orders/Create,Orders/Cancel",
                      {"--workflows", folder, "--seeds",
                       b->listen() + "," + c->listen()}};
  auto a = start_wf_node(dir, a_spec);
  CAF_REQUIRE(await_condition([&] { return sees(a->http(), {"B", "C"}); }));
  auto started = start_async(a->http(), "slow_diamond",
                             {{"sku", "sku-3"}, {"label_ms", 3000}});
  auto id = started["run_id"].get<std::string>();
  auto trace = started.value("trace_id", "");
  CAF_MESSAGE("run " << id << " trace " << trace);
  // Create, reserve and charge have succeeded; label is running on B.
  CAF_REQUIRE(await_in_flight(dir, a->http(), id, trace, "label",
                              "Ship/Label"));
  auto before = run_of(a->http(), id);
  CAF_MESSAGE("before the kill: " << step_summary(before));
  for (const char* s : {"create", "reserve", "charge"})
    CAF_CHECK_EQUAL(step_status_of(before, s), "success");
  CAF_CHECK_EQUAL(step_of(before, "label").value("idempotent", false), true);
  a->kill_hard();
  CAF_REQUIRE(!a->running());
  auto t0 = clock_type::now();
  a = start_wf_node(dir, a_spec);
  auto run = await_end(a->http(), id, 30s);
  CAF_MESSAGE("ended " << wf_ms_since(t0) << " ms after the restart: "
                       << step_summary(run) << " " << run.value("error", ""));
  MESH_CHECK_MSG(a->log().find("workflow runs: 1 resumed") != std::string::npos,
                 "A's log does not say it resumed the run:\n" << a->log());
  if (!run.is_object() || run.value("status", "") != "success")
    CAF_MESSAGE("A's log after the restart:\n" << a->log());
  CAF_REQUIRE(run.is_object());
  CAF_CHECK_EQUAL(run.value("status", ""), "success");
  std::vector<std::pair<std::string, std::string>> where{
    {"create", "A"}, {"reserve", "B"}, {"charge", "C"}, {"label", "B"},
    {"confirm", "C"}};
  for (const auto& [step, node] : where) {
    CAF_CHECK_EQUAL(step_status_of(run, step), "success");
    CAF_CHECK_EQUAL(step_of(run, step).value("node", ""), node);
  }
  // Completed steps kept their results: the same order flows to confirm.
  auto order = output_of(run, "create").value("order_id", "");
  CAF_CHECK_EQUAL(output_of(before, "create").value("order_id", ""),
                  order);
  auto confirm = output_of(run, "confirm");
  CAF_CHECK_EQUAL(confirm.value("order_id", ""), order);
  CAF_CHECK_EQUAL(confirm.value("charge_id", ""), "ch-" + order);
  CAF_CHECK_EQUAL(confirm.value("label", ""), "lbl-res-" + order);
  // No completed step ran twice; the idempotent label in flight ran again.
  auto log = call_log(dir);
  CAF_MESSAGE("calls: " << joined(methods_of(log, trace)));
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Create", trace), 1u);
  CAF_CHECK_EQUAL(calls_of(log, "Pay/Charge", trace), 1u);
  CAF_CHECK_EQUAL(calls_of(log, "Stock/Reserve", trace), 1u);
  CAF_CHECK_EQUAL(calls_of(log, "Ship/Label", trace), 2u);
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Confirm", trace), 1u);
  // The history has it after the kill.
  CAF_CHECK(lists_run(runs_of(a->http(), {"--workflow", "slow_diamond"}),
                      id));
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}

CAF_TEST(a step in flight at kill -9 runs again only when idempotent) {
  auto start = clock_type::now();
  temp_dir dir;
  auto folder = write_workflows(dir, {slow_chain("again", "wf/Slow/Wait"),
                                      slow_chain("interrupted",
                                                 "wf/Slow/Hold")});
  wf_node_spec spec{"A", "", {"--workflows", folder}};
  auto a = start_wf_node(dir, spec);
  // Both runs reach their slow step, then the node dies.
  auto again = start_async(a->http(), "again",
                           {{"sku", "s-1"}, {"ms", 2500}});
  auto interrupted = start_async(a->http(), "interrupted",
                                 {{"sku", "s-2"}, {"ms", 60000}});
  auto again_id = again["run_id"].get<std::string>();
  auto again_trace = again.value("trace_id", "");
  auto int_id = interrupted["run_id"].get<std::string>();
  auto int_trace = interrupted.value("trace_id", "");
  CAF_REQUIRE(await_in_flight(dir, a->http(), again_id, again_trace,
                              "slow", "Slow/Wait"));
  CAF_REQUIRE(await_in_flight(dir, a->http(), int_id, int_trace, "slow",
                              "Slow/Hold"));
  CAF_CHECK_EQUAL(step_of(run_of(a->http(), int_id), "slow")
                    .value("idempotent", true),
                  false);
  a->kill_hard();
  CAF_REQUIRE(!a->running());
  auto t0 = clock_type::now();
  a = start_wf_node(dir, spec);
  // The idempotent step ran again and the run succeeded.
  auto done = await_end(a->http(), again_id);
  if (!done.is_object() || done.value("status", "") != "success")
    CAF_MESSAGE("the log after the restart:\n" << a->log());
  MESH_CHECK_MSG(a->log().find("workflow runs: 2 resumed") != std::string::npos,
                 "the log does not say it resumed both runs:\n" << a->log());
  CAF_REQUIRE(done.is_object());
  CAF_MESSAGE("'again' ended " << wf_ms_since(t0) << " ms after the restart: "
                               << step_summary(done));
  CAF_CHECK_EQUAL(done.value("status", ""), "success");
  CAF_CHECK_EQUAL(output_of(done, "confirm").value("slept", json()),
                  json(2500));
  // The other one failed "interrupted by a node restart", and `stop`
  // compensated its create.
  auto failed = await_end(a->http(), int_id);
  CAF_REQUIRE(failed.is_object());
  CAF_MESSAGE("'interrupted' ended: " << step_summary(failed) << "; "
                                      << failed.value("error", ""));
  CAF_CHECK_EQUAL(failed.value("status", ""), "failed");
  auto slow = step_of(failed, "slow");
  CAF_CHECK_EQUAL(slow.value("status", ""), "failed");
  MESH_CHECK_MSG(slow.value("error", "").find("interrupted by a node restart")
                   != std::string::npos,
                 slow.dump());
  MESH_CHECK_MSG(failed.value("error", "").find("interrupted by a node "
                                                "restart")
                   != std::string::npos,
                 "the run's error: " << failed.value("error", ""));
  CAF_CHECK_EQUAL(step_status_of(failed, "create"), "compensated");
  CAF_CHECK_EQUAL(compensation_of(failed, "create").value("status",
                                                                  ""),
                  "ok");
  CAF_CHECK_EQUAL(step_status_of(failed, "confirm"), "pending");
  // The call log: each non-idempotent call once; the idempotent one twice.
  auto log = call_log(dir);
  CAF_MESSAGE("again: " << joined(methods_of(log, again_trace)));
  CAF_MESSAGE("interrupted: " << joined(methods_of(log, int_trace)));
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Create", again_trace), 1u);
  CAF_CHECK_EQUAL(calls_of(log, "Slow/Wait", again_trace), 2u);
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Confirm", again_trace), 1u);
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Cancel", again_trace), 0u);
  std::vector<std::string> expected{"Orders/Create", "Slow/Hold",
                                    "Orders/Cancel"};
  auto seq = methods_of(log, int_trace);
  MESH_CHECK_MSG(seq == expected, "interrupted: " << joined(seq));
  // Both are in the history after the kill.
  auto runs = runs_of(a->http());
  CAF_CHECK(lists_run(runs, again_id));
  CAF_CHECK(lists_run(runs, int_id));
  CAF_CHECK(lists_run(runs_of(a->http(), {"--status", "failed"}), int_id));
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}
