#define CAF_SUITE actors.workflow_runner
#include "workflow_fixture.hpp"

#include <string>
#include <vector>

// The workflow runner on the deterministic scheduler: how steps are
// ordered by mode, how references pass outputs on, requests and their
// errors, sub-workflows, queries and reloads. Failures, compensation,
// timers and crashes are in workflow_failures_test.cpp.

using namespace mesh;
using namespace mesh::test;

namespace {

using strings = std::vector<std::string>;

json seq_workflow() {
  return {{"name", "seq"},
          {"mode", "sequential"},
          {"steps",
           {call_step("a", "s/A/Do", {{"user", "${input.user}"}}),
            call_step("b", "s/B/Do",
                      {{"count", "${steps.a.output.count}"},
                       {"label", "n=${steps.a.output.count}"},
                       {"items", "${steps.a.output.items}"}}),
            call_step("c", "s/C/Do",
                      {{"sku", "${steps.b.output.items[0].sku}"}})}}};
}

json parallel_workflow(size_t max_parallel) {
  json doc{{"name", "par"}, {"mode", "parallel"}, {"steps", json::array()}};
  if (max_parallel > 0)
    doc["max_parallel"] = max_parallel;
  for (auto id : {"p1", "p2", "p3", "p4", "p5"})
    doc["steps"].push_back(call_step(id, std::string{"p/P/"} + id));
  return doc;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(workflow_runner_tests, workflow_fixture)

CAF_TEST(sequential steps run one at a time and pass outputs on) {
  add_workflow(seq_workflow());
  start();
  auto reply = post_run({{"workflow", "seq"}, {"input", {{"user", "ann"}}}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/A/Do"});
  CAF_CHECK_EQUAL(log->calls.at(0)->params, (json{{"user", "ann"}}));
  answer("s/A/Do", {{"count", 3}, {"items", json::array({"x", "y"})}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/B/Do"});
  auto b = log->calls.at(1)->params;
  // A whole-string reference keeps its type; inside a string it is text.
  CAF_CHECK(b["count"].is_number_integer());
  CAF_CHECK_EQUAL(b["count"], json(3));
  CAF_CHECK_EQUAL(b["label"], json("n=3"));
  CAF_CHECK_EQUAL(b["items"], json::array({"x", "y"}));
  CAF_CHECK(!reply->done());
  answer("s/B/Do", {{"items", json::array({{{"sku", "k1"}}})}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/C/Do"});
  CAF_CHECK_EQUAL(log->calls.at(2)->params, (json{{"sku", "k1"}}));
  answer("s/C/Do", {{"done", true}});
  CAF_CHECK_EQUAL(log->paths(), (strings{"s/A/Do", "s/B/Do", "s/C/Do"}));
  CAF_REQUIRE(reply->value.has_value());
  auto doc = *reply->value;
  CAF_CHECK_EQUAL(str(doc, "status"), "success");
  CAF_CHECK_EQUAL(str(doc, "workflow"), "seq");
  for (auto id : {"a", "b", "c"}) {
    auto s = step_of(doc, id);
    CAF_CHECK_EQUAL(str(s, "status"), "success");
    CAF_CHECK_EQUAL(s["attempts"].get<int>(), 1);
    CAF_CHECK_EQUAL(str(s, "node"), "n2");
    CAF_CHECK_GREATER(s["started_ms"].get<int64_t>(), 0);
    CAF_CHECK_GREATER_OR_EQUAL(s["completed_ms"].get<int64_t>(),
                               s["started_ms"].get<int64_t>());
    CAF_CHECK(s.contains("duration_ms"));
  }
  auto c = step_of(doc, "c");
  CAF_CHECK_EQUAL(c["output"], (json{{"done", true}}));
  auto out = doc["output"];
  CAF_CHECK_EQUAL(out["a"]["count"], json(3));
  // Every request carries the run's trace id.
  for (const auto& call : log->calls)
    CAF_CHECK_EQUAL(call->req.trace_id(), str(doc, "trace_id"));
}

CAF_TEST(an async run answers its id at once and shows its progress) {
  add_workflow(seq_workflow());
  start();
  auto first = ask<json>(
      wf, atom::run_v,
      json{{"workflow", "seq"}, {"input", {{"user", "bo"}}}, {"async", true}});
  CAF_REQUIRE(first.contains("run_id"));
  auto id = str(first, "run_id");
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/A/Do"});
  auto shown = show(id);
  CAF_CHECK_EQUAL(str(shown, "status"), "running");
  CAF_CHECK_EQUAL(str(step_of(shown, "a"), "status"), "running");
  CAF_CHECK_EQUAL(str(step_of(shown, "b"), "status"), "pending");
  answer("s/A/Do", {{"count", 1}, {"items", json::array({"z"})}});
  answer("s/B/Do", {{"items", json::array({{{"sku", "k9"}}})}});
  answer("s/C/Do", {{"ok", true}});
  shown = show(id);
  CAF_CHECK_EQUAL(str(shown, "status"), "success");
  CAF_CHECK_EQUAL(output_of(shown, "c"), (json{{"ok", true}}));
}

CAF_TEST(parallel steps run at once up to max_parallel) {
  add_workflow(parallel_workflow(2));
  start();
  auto reply = post_run({{"workflow", "par"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"p/P/p1", "p/P/p2"}));
  answer("p/P/p2");
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"p/P/p1", "p/P/p3"}));
  answer("p/P/p1");
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"p/P/p3", "p/P/p4"}));
  answer("p/P/p3");
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"p/P/p4", "p/P/p5"}));
  answer("p/P/p4");
  answer("p/P/p5");
  CAF_REQUIRE(reply->value.has_value());
  auto status = str(*reply->value, "status");
  CAF_CHECK_EQUAL(status, "success");
  CAF_CHECK_EQUAL(log->calls.size(), 5u);
}

CAF_TEST(parallel steps without a bound all run at once) {
  add_workflow(parallel_workflow(0));
  start();
  auto reply = post_run({{"workflow", "par"}});
  CAF_CHECK_EQUAL(log->in_flight().size(), 5u);
  for (auto id : {"p5", "p3", "p1", "p4", "p2"})
    answer(std::string{"p/P/"} + id);
  CAF_REQUIRE(reply->value.has_value());
  auto status = str(*reply->value, "status");
  CAF_CHECK_EQUAL(status, "success");
}

CAF_TEST(a dag diamond runs its branches together and joins them) {
  add_workflow(
      {{"name", "diamond"},
       {"mode", "dag"},
       {"steps",
        {call_step("a", "d/A/Do"),
         call_step("b", "d/B/Do", {{"v", "${steps.a.output.v}"}},
                   {{"depends_on", json::array({"a"})}}),
         call_step("c", "d/C/Do", {{"v", "${steps.a.output.v}"}},
                   {{"depends_on", json::array({"a"})}}),
         call_step("d", "d/D/Do",
                   {{"b", "${steps.b.output.r}"}, {"c", "${steps.c.output.r}"}},
                   {{"depends_on", json::array({"b", "c"})}})}}});
  start();
  auto reply = post_run({{"workflow", "diamond"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"d/A/Do"});
  answer("d/A/Do", {{"v", 5}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"d/B/Do", "d/C/Do"}));
  answer("d/C/Do", {{"r", "from c"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"d/B/Do"});
  answer("d/B/Do", {{"r", "from b"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"d/D/Do"});
  CAF_CHECK_EQUAL(log->pending("d/D/Do").params,
                  (json{{"b", "from b"}, {"c", "from c"}}));
  answer("d/D/Do");
  CAF_REQUIRE(reply->value.has_value());
  auto status = str(*reply->value, "status");
  CAF_CHECK_EQUAL(status, "success");
}

CAF_TEST(an input against the input_schema is refused before any call) {
  auto doc = seq_workflow();
  doc["input_schema"] = {{"type", "object"},
                         {"required", json::array({"user", "count"})},
                         {"properties",
                          {{"user", {{"type", "string"}}},
                           {"count", {{"type", "integer"}, {"minimum", 1}}}}}};
  add_workflow(doc);
  start();
  auto err = ask_error<json>(
      wf, atom::run_v,
      json{{"workflow", "seq"}, {"input", {{"user", 5}, {"count", 0}}}});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::invalid_argument);
  auto text = error_text(err);
  MESH_CHECK_MSG(contains(text, "/user") && contains(text, "/count"), text);
  CAF_CHECK(log->calls.empty());
  CAF_CHECK(log->idempotent_asked.empty());
  // A valid input runs.
  log->echo("s/A/Do");
  auto reply = post_run(
      {{"workflow", "seq"}, {"input", {{"user", "ann"}, {"count", 2}}}});
  CAF_CHECK_EQUAL(log->calls.size(), 1u);
}

CAF_TEST(bad requests are refused with the status they deserve) {
  add_workflow(seq_workflow());
  start();
  auto code = [&](const json& req) {
    return to_status_code(ask_error<json>(wf, atom::run_v, req));
  };
  CAF_CHECK_EQUAL(code({{"workflow", "nope"}}), status_code::not_found);
  CAF_CHECK_EQUAL(code({{"input", json::object()}}),
                  status_code::invalid_argument);
  CAF_CHECK_EQUAL(code({{"workflow", "seq"}, {"context", "tenant-1"}}),
                  status_code::invalid_argument);
  CAF_CHECK_EQUAL(code({{"workflow", "seq"}, {"definition", seq_workflow()}}),
                  status_code::invalid_argument);
  CAF_CHECK_EQUAL(code(json::array({"seq"})), status_code::invalid_argument);
  CAF_CHECK_EQUAL(code({{"definition", {{"name", "x"}}}}),
                  status_code::invalid_argument);
  CAF_CHECK(log->calls.empty());
  auto missing = ask_error<json>(wf, atom::runs_v, std::string{"nope"});
  CAF_CHECK_EQUAL(to_status_code(missing), status_code::not_found);
}

CAF_TEST(an inline definition runs) {
  start();
  log->echo("i/I/Do");
  auto doc = run_now(
      {{"definition",
        {{"name", "inline"},
         {"steps", {call_step("only", "i/I/Do", {{"x", "${input.x}"}})}}}},
       {"input", {{"x", 4}}}});
  CAF_CHECK_EQUAL(str(doc, "status"), "success");
  CAF_CHECK_EQUAL(str(doc, "workflow"), "inline");
  CAF_CHECK_EQUAL(output_of(doc, "only"), (json{{"x", 4}}));
  CAF_CHECK_EQUAL(log->paths(), strings{"i/I/Do"});
}

CAF_TEST(the output of a sub - workflow is the output of its parent step) {
  add_workflow({{"name", "child"},
                {"steps", {call_step("x", "c/X/Do", {{"v", "${input.v}"}})}},
                {"output", {{"r", "${steps.x.output}"}}}});
  add_workflow({{"name", "parent"},
                {"steps",
                 {{{"id", "sub"},
                   {"workflow", "child"},
                   {"params", {{"v", "${input.v}"}}}},
                  call_step("after", "p/After/Do",
                            {{"got", "${steps.sub.output.r.v}"}})}}});
  start();
  auto reply = post_run({{"workflow", "parent"}, {"input", {{"v", 7}}}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"c/X/Do"});
  CAF_CHECK_EQUAL(log->pending("c/X/Do").params, (json{{"v", 7}}));
  answer("c/X/Do", {{"v", 7}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"p/After/Do"});
  CAF_CHECK_EQUAL(log->pending("p/After/Do").params, (json{{"got", 7}}));
  answer("p/After/Do");
  CAF_REQUIRE(reply->value.has_value());
  auto doc = *reply->value;
  CAF_CHECK_EQUAL(str(doc, "status"), "success");
  auto sub = step_of(doc, "sub");
  CAF_CHECK_EQUAL(str(sub, "status"), "success");
  CAF_CHECK_EQUAL(sub["output"], (json{{"r", {{"v", 7}}}}));
  // The child is a run of its own, linked to its parent.
  auto child_id = sub["detail"].value("run", std::string{});
  auto child = show(child_id);
  CAF_CHECK_EQUAL(str(child, "status"), "success");
  CAF_CHECK_EQUAL(str(child, "parent_run"), str(doc, "id"));
}

// Regression: a step that ends while it starts (its sub-workflow cannot
// start, or its child run ends at once) used to end the run inside the
// loop that was starting steps: a use after free, and steps started twice.
CAF_TEST(a sub - workflow that cannot start fails only its own step) {
  start();
  log->echo("x/B/Do");
  log->echo("x/C/Do");
  auto doc = run_now({{"definition",
                       {{"name", "broken"},
                        {"mode", "parallel"},
                        {"on_failure", "continue"},
                        {"steps",
                         {{{"id", "sub"}, {"workflow", "nope"}},
                          call_step("b", "x/B/Do"),
                          call_step("c", "x/C/Do")}}}}});
  CAF_CHECK_EQUAL(str(doc, "status"), "partial");
  auto sub = step_of(doc, "sub");
  CAF_CHECK_EQUAL(str(sub, "status"), "failed");
  CAF_CHECK_EQUAL(str(sub, "error"), "no workflow named nope");
  CAF_CHECK_EQUAL(log->paths(), (strings{"x/B/Do", "x/C/Do"}));
  // Alone in its run, the failed step ends the run at once.
  doc = run_now({{"definition",
                  {{"name", "alone"},
                   {"steps", {{{"id", "sub"}, {"workflow", "nope"}}}}}}});
  CAF_CHECK_EQUAL(str(doc, "status"), "failed");
}

CAF_TEST(a child run that ends at once completes its parent step) {
  add_workflow({{"name", "child"},
                {"steps",
                 {call_step("x", "c/X/Do", json::object(),
                            {{"when", "${input.go}"}})}}});
  add_workflow({{"name", "parent"},
                {"steps",
                 {{{"id", "sub"},
                   {"workflow", "child"},
                   {"params", {{"go", false}}}}}}});
  start();
  auto doc = run_now({{"workflow", "parent"}});
  CAF_CHECK_EQUAL(str(doc, "status"), "success");
  CAF_CHECK_EQUAL(str(step_of(doc, "sub"), "status"), "success");
  CAF_CHECK(log->calls.empty());
}

CAF_TEST(runs can be listed by workflow and status) {
  add_workflow({{"name", "good"}, {"steps", {call_step("a", "g/A/Do")}}});
  add_workflow({{"name", "bad"}, {"steps", {call_step("a", "b/A/Do")}}});
  start();
  log->echo("g/A/Do");
  log->handlers["b/A/Do"] = [](const json&) {
    return fake_reply::error(status_code::handler_error, "no");
  };
  auto g = run_now({{"workflow", "good"}});
  auto b1 = run_now({{"workflow", "bad"}});
  auto b2 = run_now({{"workflow", "bad"}});
  CAF_CHECK_EQUAL(str(g, "status"), "success");
  CAF_CHECK_EQUAL(str(b1, "status"), "failed");
  auto list = ask<json>(wf, atom::runs_v,
                        json{{"workflow", "bad"}, {"status", "failed"}});
  auto runs = list["runs"];
  CAF_REQUIRE_EQUAL(runs.size(), 2u);
  strings ids;
  for (const auto& r : runs) {
    CAF_CHECK_EQUAL(str(r, "workflow"), "bad");
    CAF_CHECK_EQUAL(str(r, "status"), "failed");
    ids.push_back(str(r, "id"));
  }
  CAF_CHECK((ids == strings{str(b2, "id"), str(b1, "id")}
             || ids == strings{str(b1, "id"), str(b2, "id")}));
  auto ok = ask<json>(wf, atom::runs_v, json{{"status", "success"}});
  CAF_REQUIRE_EQUAL(ok["runs"].size(), 1u);
  CAF_CHECK_EQUAL(str(ok["runs"][0], "id"), str(g, "id"));
  auto none = ask<json>(wf, atom::runs_v,
                        json{{"workflow", "good"}, {"status", "failed"}});
  CAF_CHECK(none["runs"].empty());
  auto err = ask_error<json>(wf, atom::runs_v, json{{"status", "done"}});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::invalid_argument);
}

CAF_TEST(a reload adds a new file and keeps the last good version) {
  start();
  auto empty = ask<json>(wf, atom::workflows_v);
  CAF_CHECK(empty["workflows"].empty());
  add_workflow({{"name", "late"}, {"steps", {call_step("a", "l/A/Do")}}});
  auto report = ask<json>(wf, atom::reload_v);
  CAF_CHECK_EQUAL(report["loaded"], json::array({"late"}));
  // Broken now: the same name with a step that has two kinds.
  dir.write("workflows/late.json",
            json{{"name", "late"},
                 {"steps", {{{"id", "a"}, {"call", "l/B/Do"}, {"emit", "ds"}}}}}
                .dump());
  report = ask<json>(wf, atom::reload_v);
  CAF_CHECK_EQUAL(report["kept"], json::array({"late"}));
  CAF_CHECK_EQUAL(report["failed"].size(), 1u);
  auto listed = ask<json>(wf, atom::workflows_v);
  CAF_REQUIRE_EQUAL(listed["workflows"].size(), 1u);
  CAF_CHECK_EQUAL(str(listed["workflows"][0], "status"), "kept");
  // The last good version still runs.
  log->echo("l/A/Do");
  auto doc = run_now({{"workflow", "late"}});
  CAF_CHECK_EQUAL(str(doc, "status"), "success");
  CAF_CHECK_EQUAL(log->paths(), strings{"l/A/Do"});
}

CAF_TEST_FIXTURE_SCOPE_END()
