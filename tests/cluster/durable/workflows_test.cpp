#define CAF_SUITE cluster.workflows
#include "check.hpp"

#include <string>
#include <vector>

#include <unistd.h>

#include "unit/task_fixtures.hpp" // raw_sql
#include "workflow_cluster.hpp"

// Workflows (seed 003) across real nodes: a diamond DAG whose steps run on
// three nodes with references between them, compensation in reverse order
// after a failing step, a folder of broken workflow files, and the run
// history across a restart. Crashes are in workflows_crash_test.cpp.

using namespace mesh::test;
using nlohmann::json;

namespace {

/// create -> (reserve, charge) -> label -> confirm; every step after the
/// first takes something from the steps before it.
json diamond() {
  return json::parse(R"({
    "name": "diamond",
    "description": "An order: created, then stock and payment at once, then a label, then confirmed.",
    "mode": "dag",
    "input_schema": {"type": "object", "required": ["sku", "qty", "amount"]},
    "steps": [
      {"id": "create", "call": "wf/Orders/Create",
       "params": {"sku": "${input.sku}", "qty": "${input.qty}"}},
      {"id": "reserve", "call": "wf/Stock/Reserve", "depends_on": ["create"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "sku": "${steps.create.output.items[0].sku}"}},
      {"id": "charge", "call": "wf/Pay/Charge", "depends_on": ["create"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "amount": "${input.amount}"}},
      {"id": "label", "call": "wf/Ship/Label", "depends_on": ["reserve", "charge"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "reservation": "${steps.reserve.output.reservation}"}},
      {"id": "confirm", "call": "wf/Orders/Confirm", "depends_on": ["label", "charge"],
       "params": {"order_id": "${steps.create.output.order_id}",
                  "charge_id": "${steps.charge.output.charge_id}",
                  "label": "${steps.label.output.label}",
                  "note": "order ${steps.create.output.order_id} ships with ${steps.label.output.label}"}}
    ],
    "output": {"order": "${steps.create.output.order_id}",
               "confirmation": "${steps.confirm.output}"}
  })");
}

/// create -> charge -> fail under `stop`: the first two are compensated.
json refund_chain() {
  return json::parse(R"({
    "name": "refund_chain",
    "mode": "sequential",
    "on_failure": "stop",
    "steps": [
      {"id": "create", "call": "wf/Orders/Create", "params": {"sku": "${input.sku}"},
       "compensate": {"call": "wf/Orders/Cancel",
                      "params": {"order_id": "${steps.create.output.order_id}"}}},
      {"id": "charge", "call": "wf/Pay/Charge",
       "params": {"order_id": "${steps.create.output.order_id}", "amount": 7},
       "compensate": {"call": "wf/Pay/Refund",
                      "params": {"charge_id": "${steps.charge.output.charge_id}"}}},
      {"id": "explode", "call": "wf/Fail/Always"},
      {"id": "never", "call": "wf/Orders/Confirm"}
    ]
  })");
}

/// Three nodes: A runs the workflows (and serves Orders/Create, Cancel), B
/// serves Stock, Ship and Fail, C serves Pay and Orders/Confirm.
struct three_nodes {
  std::unique_ptr<node_process> a, b, c;

  three_nodes(const temp_dir& dir, const std::string& workflows) {
    b = start_wf_node(dir, {"B", "Stock,Ship,Fail", {}});
    c = start_wf_node(dir, {"C", "Pay,Orders/Confirm", {}});
    a = start_wf_node(dir, {"A",
                            "Orders/Create,Orders/Cancel",
                            {"--workflows", workflows, "--seeds",
                             b->listen() + "," + c->listen()}});
    CAF_REQUIRE(await_condition([&] { return sees(a->http(), {"B", "C"}); }));
  }
};

} // namespace

CAF_TEST(a diamond DAG runs its steps on three nodes with references) {
  auto start = clock_type::now();
  temp_dir dir;
  three_nodes cl{dir, write_workflows(dir, {diamond()})};
  CAF_MESSAGE("cluster up in " << wf_ms_since(start) << " ms");
  auto t0 = clock_type::now();
  json input{{"sku", "sku-7"}, {"qty", 3}, {"amount", 42}};
  auto doc = meshctl_json(cl.a->http(), {"workflow", "run", "diamond",
                                            "--input", input.dump()});
  CAF_MESSAGE("run took " << wf_ms_since(t0) << " ms");
  CAF_REQUIRE(doc.value("ok", false));
  auto run = object_at(doc, "result");
  CAF_MESSAGE(step_summary(run));
  CAF_CHECK_EQUAL(run.value("status", ""), "success");
  CAF_CHECK_EQUAL(run.value("workflow", ""), "diamond");
  // Where each step ran.
  std::vector<std::pair<std::string, std::string>> where{
    {"create", "A"}, {"reserve", "B"}, {"charge", "C"}, {"label", "B"},
    {"confirm", "C"}};
  for (const auto& [step, node] : where) {
    auto s = step_of(run, step);
    MESH_CHECK_MSG(s.value("status", "") == "success",
                   step << ": " << s.dump());
    MESH_CHECK_MSG(s.value("node", "") == node,
                   step << " ran on " << s.value("node", "?") << ", expected "
                        << node << ": " << s.dump());
    // The handler says where it ran, too.
    CAF_CHECK_EQUAL(output_of(run, step).value("node", ""), node);
  }
  // The outputs flowed through the references.
  auto order = output_of(run, "create").value("order_id", "");
  CAF_REQUIRE(!order.empty());
  auto reserve = output_of(run, "reserve");
  CAF_CHECK_EQUAL(reserve.value("reservation", ""), "res-" + order);
  CAF_CHECK_EQUAL(reserve.value("sku", ""), "sku-7"); // items[0].sku
  auto charge = output_of(run, "charge");
  CAF_CHECK_EQUAL(charge.value("charge_id", ""), "ch-" + order);
  CAF_CHECK_EQUAL(charge.value("amount", json()), json(42)); // a number
  auto label = output_of(run, "label").value("label", "");
  CAF_CHECK_EQUAL(label, "lbl-res-" + order);
  auto confirm = output_of(run, "confirm");
  CAF_CHECK_EQUAL(confirm.value("order_id", ""), order);
  CAF_CHECK_EQUAL(confirm.value("charge_id", ""), "ch-" + order);
  CAF_CHECK_EQUAL(confirm.value("label", ""), label);
  CAF_CHECK_EQUAL(confirm.value("note", ""),
                  "order " + order + " ships with " + label);
  // The run's output template.
  auto output = object_at(run, "output");
  CAF_CHECK_EQUAL(output.value("order", ""), order);
  CAF_CHECK_EQUAL(output.value("confirmation", json()), confirm);
  // Each handler ran once, with the run's trace id, in DAG order.
  auto trace = run.value("trace_id", "");
  auto log = call_log(dir);
  auto seq = methods_of(log, trace);
  CAF_MESSAGE("calls: " << joined(seq));
  for (const char* m : {"Orders/Create", "Stock/Reserve", "Pay/Charge",
                        "Ship/Label", "Orders/Confirm"})
    MESH_CHECK_MSG(calls_of(log, m, trace) == 1,
                   m << " ran " << calls_of(log, m, trace) << " times");
  CAF_REQUIRE_EQUAL(seq.size(), 5u);
  CAF_CHECK_EQUAL(seq.front(), "Orders/Create");
  CAF_CHECK_EQUAL(seq[3], "Ship/Label");
  CAF_CHECK_EQUAL(seq.back(), "Orders/Confirm");
  // An input that misses a required field is refused before any step runs.
  auto bad = meshctl(cl.a->http(), {"workflow", "run", "diamond", "--input",
                                       R"({"sku": "x"})"});
  CAF_CHECK_NOT_EQUAL(bad.exit_code, 0);
  MESH_CHECK_MSG(bad.out.find("invalid_argument") != std::string::npos,
                 "out: " << bad.out << " err: " << bad.err);
  CAF_CHECK_EQUAL(call_log(dir).size(), log.size());
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}

CAF_TEST(a failing step compensates the steps before it in reverse order) {
  auto start = clock_type::now();
  temp_dir dir;
  three_nodes cl{dir, write_workflows(dir, {refund_chain()})};
  auto r = meshctl(cl.a->http(), {"workflow", "run", "refund_chain",
                                     "--input", R"({"sku": "sku-9"})"});
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0); // the run failed
  auto doc = json::parse(r.out, nullptr, false);
  CAF_REQUIRE(!doc.is_discarded());
  CAF_REQUIRE(doc.value("ok", false)); // a failed run is still an answer
  auto run = object_at(doc, "result");
  CAF_MESSAGE(step_summary(run) << "; error: " << run.value("error", ""));
  CAF_CHECK_EQUAL(run.value("status", ""), "failed");
  MESH_CHECK_MSG(run.value("error", "").find("explode") != std::string::npos,
                 "the run's error does not name the step: " << run.dump());
  CAF_CHECK_EQUAL(step_status_of(run, "create"), "compensated");
  CAF_CHECK_EQUAL(step_status_of(run, "charge"), "compensated");
  CAF_CHECK_EQUAL(step_status_of(run, "explode"), "failed");
  CAF_CHECK_EQUAL(step_of(run, "explode").value("node", ""), "B");
  MESH_CHECK_MSG(step_of(run, "explode").value("error", "").find("on purpose")
                   != std::string::npos,
                 step_of(run, "explode").dump());
  CAF_CHECK_EQUAL(step_status_of(run, "never"), "pending");
  // Each compensation ran where its handler is, with the step's output.
  auto order = output_of(run, "create").value("order_id", "");
  auto cancel = compensation_of(run, "create");
  auto refund = compensation_of(run, "charge");
  CAF_CHECK_EQUAL(cancel.value("status", ""), "ok");
  CAF_CHECK_EQUAL(cancel.value("node", ""), "A");
  CAF_CHECK_EQUAL(object_at(cancel, "output").value("cancelled", ""), order);
  CAF_CHECK_EQUAL(refund.value("status", ""), "ok");
  CAF_CHECK_EQUAL(refund.value("node", ""), "C");
  CAF_CHECK_EQUAL(object_at(refund, "output").value("refunded", ""), "ch-" + order);
  // Latest first: Refund, then Cancel; Confirm never ran.
  auto trace = run.value("trace_id", "");
  auto seq = methods_of(call_log(dir), trace);
  CAF_MESSAGE("calls: " << joined(seq));
  std::vector<std::string> expected{"Orders/Create", "Pay/Charge",
                                    "Fail/Always", "Pay/Refund",
                                    "Orders/Cancel"};
  MESH_CHECK_MSG(seq == expected, "calls in order: " << joined(seq));
  CAF_CHECK_LESS_OR_EQUAL(refund.value("completed_ms", int64_t{0}),
                          cancel.value("started_ms", int64_t{0}));
  // The same run in the history, as it ended.
  auto stored = run_of(cl.a->http(), run.value("id", ""));
  CAF_CHECK_EQUAL(stored.value("status", ""), "failed");
  CAF_CHECK_EQUAL(step_status_of(stored, "charge"), "compensated");
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}

CAF_TEST(a workflows folder with every kind of defect) {
  auto start = clock_type::now();
  temp_dir dir;
  auto folder = wf_defects_dir();
  auto n = start_wf_node(dir, {"D", "", {"--workflows", folder}});
  auto doc = meshctl_json(n->http(), {"workflows"});
  CAF_REQUIRE(doc.value("ok", false));
  auto result = object_at(doc, "result");
  // The good file is loaded, and only it.
  auto listed = result.value("workflows", json::array());
  CAF_REQUIRE_EQUAL(listed.size(), 1u);
  CAF_CHECK_EQUAL(listed[0].value("name", ""), "good_order");
  CAF_CHECK_EQUAL(listed[0].value("status", ""), "loaded");
  // Each broken file with its pointer and message.
  struct defect {
    const char* file;
    const char* pointer;
    const char* message;
  };
  const defect defects[] = {
    {"duplicate_step_ids.json", "/steps/1/id", "duplicate step id 'create'"},
    {"unknown_depends_on.json", "/steps/1/depends_on/0",
     "unknown step 'creat'"},
    {"non_ancestor_reference.json", "/steps/1/params/order_id",
     "step 'create' is not an ancestor of step 'reserve'"},
    {"cycle.json", "/steps/0/depends_on", "cycle: a -> c -> b -> a"},
    {"bad_call_path.json", "/steps/0/call",
     "'wf/Orders' is not namespace/Service/Method"},
    {"two_kinds.json", "/steps/0", "has both call and publish"},
    {"typo_key.json", "/steps/1/depend_on", "unknown key 'depend_on'"},
    {"bad_input_schema.json", "/input_schema",
     "is not a valid draft-07 schema"},
    {"malformed.json", "", ""},
  };
  auto errors = result.value("errors", json::array());
  CAF_CHECK_EQUAL(errors.size(), std::size(defects));
  for (const auto& d : defects) {
    auto path = folder + "/" + d.file;
    json found;
    for (const auto& e : errors)
      if (e.value("file", "") == path)
        found = e;
    MESH_CHECK_MSG(found.is_object(), "no errors for " << path << " in "
                                                       << errors.dump(2));
    if (!found.is_object())
      continue;
    CAF_MESSAGE(d.file << ": " << found["errors"].dump());
    bool match = false;
    for (const auto& e : found.value("errors", json::array())) {
      auto pointer = e.value("pointer", "?");
      auto message = e.value("message", "");
      if (std::string{d.file} == "malformed.json")
        // A syntax error is about the whole document and says where.
        match = match
                || ((pointer.empty() || pointer == "/")
                    && message.find("5") != std::string::npos);
      else
        match = match
                || (pointer == d.pointer
                    && message.find(d.message) != std::string::npos);
    }
    MESH_CHECK_MSG(match, d.file << ": expected " << d.pointer << ": "
                                 << d.message << ", got "
                                 << found["errors"].dump());
  }
  // The same for people: "error: FILE: POINTER: MESSAGE".
  auto human = meshctl(n->http(), {"workflows"}, true);
  CAF_CHECK_EQUAL(human.exit_code, 0);
  auto line = "error: " + folder
              + "/duplicate_step_ids.json: /steps/1/id: duplicate step id";
  MESH_CHECK_MSG(human.out.find(line) != std::string::npos,
                 "no line '" << line << "' in:\n"
                             << human.out);
  // The good one runs; a broken one is not there to run.
  auto ok = meshctl_json(n->http(), {"workflow", "run", "good_order",
                                        "--input", R"({"sku": "s-1"})"});
  CAF_CHECK_EQUAL(object_at(ok, "result").value("status", ""), "success");
  auto missing = meshctl(n->http(), {"workflow", "run", "cyclic"});
  CAF_CHECK_NOT_EQUAL(missing.exit_code, 0);
  MESH_CHECK_MSG(missing.out.find("not_found") != std::string::npos,
                 "out: " << missing.out << " err: " << missing.err);
  // A reload with broken files fails, listing them.
  auto reload = meshctl_json(n->http(), {"workflows", "reload"}, 1);
  CAF_CHECK_EQUAL(reload.value("ok", true), false);
  auto failed_files = reload.contains("result") && reload["result"].is_object()
                        ? object_at(reload, "result").value("failed", json::array())
                        : json::array();
  MESH_CHECK_MSG(failed_files.size() == std::size(defects),
                 "reload lists " << failed_files.size() << " failed files: "
                                 << reload.dump());
  CAF_MESSAGE("reload: " << reload.value("status", "") << ": "
                         << reload.value("error", ""));
  // A workflows folder that does not exist stops the node at start.
  auto nope = "/nope-" + std::to_string(::getpid());
  auto t0 = clock_type::now();
  auto r = run_program({bin("meshnode"), "--id", "x", "--listen",
                        "127.0.0.1:0", "--console", "127.0.0.1:0", "--http",
                        "127.0.0.1:0", "--data-dir", dir.file("data-x"),
                        "--workflows", nope},
                       20s);
  CAF_MESSAGE("meshnode --workflows " << nope << ": exit " << r.exit_code
                                      << " in " << wf_ms_since(t0)
                                      << " ms: " << r.err);
  CAF_CHECK(!r.timed_out);
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
  MESH_CHECK_MSG(r.err.find(nope) != std::string::npos,
                 "stderr does not name the folder: " << r.err);
  CAF_CHECK(r.out.find("\"ready\"") == std::string::npos);
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}

CAF_TEST(meshctl runs keeps the history across a restart) {
  auto start = clock_type::now();
  temp_dir dir;
  auto folder = write_workflows(
    dir, {json::parse(R"({
            "name": "short",
            "steps": [
              {"id": "create", "call": "wf/Orders/Create", "params": {"sku": "${input.sku}"}},
              {"id": "confirm", "call": "wf/Orders/Confirm",
               "params": {"order_id": "${steps.create.output.order_id}"}}
            ]})"),
          json::parse(R"({
            "name": "doomed",
            "steps": [{"id": "explode", "call": "wf/Fail/Always"}]})")});
  wf_node_spec spec{"H", "", {"--workflows", folder}};
  auto n = start_wf_node(dir, spec);
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto doc = meshctl_json(n->http(), {"workflow", "run", "short",
                                           "--input", R"({"sku": "s"})"});
    CAF_CHECK_EQUAL(object_at(doc, "result").value("status", ""), "success");
    ids.push_back(object_at(doc, "result").value("id", ""));
  }
  auto doomed = meshctl_json(n->http(), {"workflow", "run", "doomed"}, 1);
  auto doomed_id = object_at(doomed, "result").value("id", "");
  CAF_CHECK_EQUAL(object_at(doomed, "result").value("status", ""), "failed");
  auto check_history = [&](const char* when) {
    auto shorts = runs_of(n->http(), {"--workflow", "short"});
    CAF_MESSAGE(when << ": runs --workflow short: " << shorts.dump());
    CAF_CHECK_EQUAL(shorts.size(), 2u);
    for (const auto& id : ids)
      MESH_CHECK_MSG(lists_run(shorts, id), when << ": no run " << id);
    for (const auto& r : shorts)
      CAF_CHECK_EQUAL(r.value("status", ""), "success");
    auto failed = runs_of(n->http(), {"--status", "failed"});
    CAF_CHECK_EQUAL(failed.size(), 1u);
    CAF_CHECK(lists_run(failed, doomed_id));
    auto all = runs_of(n->http());
    CAF_CHECK_EQUAL(all.size(), 3u);
    auto one = run_of(n->http(), ids[0]);
    CAF_CHECK_EQUAL(one.value("status", ""), "success");
    CAF_CHECK_EQUAL(step_status_of(one, "confirm"), "success");
  };
  check_history("before the restart");
  CAF_CHECK_EQUAL(n->terminate(), 0);
  n = start_wf_node(dir, spec);
  check_history("after the restart");
  // Nothing ran again at the restart.
  auto log = call_log(dir);
  CAF_CHECK_EQUAL(calls_of(log, "Orders/Create"), 2u);
  CAF_CHECK_EQUAL(calls_of(log, "Fail/Always"), 1u);
  // A row damaged while the node was down is listed as unreadable, with
  // the reason, and the others still are.
  CAF_CHECK_EQUAL(n->terminate(), 0);
  CAF_REQUIRE_EQUAL(raw_sql(dir.file("data-H/tasks-H.db"),
                            "UPDATE workflow_runs SET doc = '{\"steps\": [' "
                            "WHERE id = '" + doomed_id + "'"),
                    "");
  n = start_wf_node(dir, spec);
  auto all = runs_of(n->http());
  CAF_REQUIRE(all.is_array());
  CAF_CHECK_EQUAL(all.size(), 3u);
  json damaged;
  for (const auto& r : all)
    if (r.value("id", "") == doomed_id)
      damaged = r;
  CAF_CHECK_EQUAL(damaged.value("status", ""), "unreadable");
  CAF_CHECK_EQUAL(damaged.value("workflow", ""), "doomed");
  MESH_CHECK_MSG(damaged.value("error", "").find("bad document")
                   != std::string::npos,
                 damaged.dump());
  auto table = meshctl(n->http(), {"runs"}, true).out;
  MESH_CHECK_MSG(table.find("unreadable") != std::string::npos, table);
  CAF_MESSAGE("took " << wf_ms_since(start) << " ms");
}
