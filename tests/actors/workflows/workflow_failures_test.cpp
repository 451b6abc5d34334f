#define CAF_SUITE actors.workflow_failures
#include "workflow_fixture.hpp"

#include <string>
#include <vector>

// The workflow runner when things go wrong: failure policies and
// compensation, `when`, references that do not resolve, retries, step and
// run timeouts on simulated time, cancel, and a runner killed mid-run.

using namespace mesh;
using namespace mesh::test;

namespace {

using strings = std::vector<std::string>;

// A call step whose compensation undoes it with its own output's id.
json undoable(const std::string& id, const std::string& path,
              json extra = json::object()) {
  extra["compensate"] = {
      {"call", "u/Undo/" + id},
      {"params",
       {{"id", "${steps." + id + ".output.id}"}, {"why", "${input.reason}"}}}};
  return call_step(id, path, json::object(), extra);
}

// Sequential: a (undoable), then b.
json two_steps(const std::string& name, json extra = json::object()) {
  json doc{{"name", name},
           {"steps",
            {undoable("a", "s/A/Do"), call_step("b", "s/B/Do", {{"n", 1}})}}};
  doc.update(extra);
  return doc;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(workflow_failures_tests, workflow_fixture)

CAF_TEST(under stop a failure awaits running steps then compensates) {
  json doc{{"name", "stop"},
           {"mode", "parallel"},
           {"max_parallel", 4},
           {"steps", json::array()}};
  for (auto id : {"a", "b", "c", "d", "e"})
    doc["steps"].push_back(undoable(id, std::string{"p/P/"} + id));
  add_workflow(doc);
  start();
  auto reply = post_run({{"workflow", "stop"}, {"input", {{"reason", "r1"}}}});
  CAF_CHECK_EQUAL(log->in_flight_paths(),
                  (strings{"p/P/a", "p/P/b", "p/P/c", "p/P/d"}));
  fail("p/P/d", status_code::handler_error, "d broke");
  // A slot is free, but nothing new starts; the others are awaited.
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"p/P/a", "p/P/b", "p/P/c"}));
  answer("p/P/c", {{"id", "C1"}});
  answer("p/P/a", {{"id", "A1"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"p/P/b"});
  CAF_CHECK(!reply->done());
  answer("p/P/b", {{"id", "B1"}});
  // Latest completion first, one at a time, each with its own output.
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"u/Undo/b"});
  CAF_CHECK_EQUAL(log->pending("u/Undo/b").params,
                  (json{{"id", "B1"}, {"why", "r1"}}));
  answer("u/Undo/b");
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"u/Undo/a"});
  CAF_CHECK_EQUAL(log->pending("u/Undo/a").params,
                  (json{{"id", "A1"}, {"why", "r1"}}));
  CAF_CHECK(!reply->done());
  answer("u/Undo/a");
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"u/Undo/c"});
  answer("u/Undo/c", {{"undone", true}});
  CAF_CHECK_EQUAL(log->paths().size(), 7u);
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto error = str(run, "error");
  MESH_CHECK_MSG(contains(error, "step d") && contains(error, "d broke"),
                 error);
  for (auto id : {"a", "b", "c"}) {
    auto s = step_of(run, id);
    CAF_CHECK_EQUAL(str(s, "status"), "compensated");
    CAF_CHECK_EQUAL(str(s["compensation"], "status"), "ok");
  }
  auto undone = step_of(run, "c")["compensation"]["output"];
  CAF_CHECK_EQUAL(undone, (json{{"undone", true}}));
  auto d = step_of(run, "d");
  CAF_CHECK_EQUAL(str(d, "status"), "failed");
  CAF_CHECK_EQUAL(str(d, "error_status"), "handler_error");
  CAF_CHECK(!d.contains("compensation"));
  CAF_CHECK_EQUAL(str(step_of(run, "e"), "status"), "pending");
}

CAF_TEST(under continue only the dependents of the failed step are skipped) {
  add_workflow({{"name", "cont"},
                {"mode", "dag"},
                {"on_failure", "continue"},
                {"steps",
                 {undoable("a", "c/A/Do"),
                  call_step("b", "c/B/Do", json::object(),
                            {{"depends_on", json::array({"a"})}}),
                  call_step("d", "c/D/Do", json::object(),
                            {{"depends_on", json::array({"b"})}}),
                  undoable("c", "c/C/Do")}}});
  start();
  auto reply = post_run({{"workflow", "cont"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"c/A/Do", "c/C/Do"}));
  fail("c/A/Do", status_code::handler_error);
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"c/C/Do"});
  answer("c/C/Do", {{"id", "C1"}});
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "partial");
  auto error = str(run, "error");
  MESH_CHECK_MSG(contains(error, "step a"), error);
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "failed");
  auto b = step_of(run, "b");
  CAF_CHECK_EQUAL(str(b, "status"), "skipped");
  CAF_CHECK_EQUAL(str(b, "error"), "dependency a failed");
  CAF_CHECK_EQUAL(str(step_of(run, "d"), "status"), "skipped");
  CAF_CHECK_EQUAL(str(step_of(run, "c"), "status"), "success");
  // No compensation under continue; b and d never reached the router.
  CAF_CHECK_EQUAL(log->paths(), (strings{"c/A/Do", "c/C/Do"}));
}

CAF_TEST(a false when skips the step and its dependents still run) {
  add_workflow({{"name", "when"},
                {"steps",
                 {call_step("check", "w/Check/Do"),
                  call_step("x", "w/X/Do", json::object(),
                            {{"when", "${steps.check.output.go}"}}),
                  call_step("y", "w/Y/Do", {{"x", "${steps.x.status}"}})}}});
  add_workflow({{"name", "badwhen"},
                {"steps",
                 {call_step("check", "w/Check/Do"),
                  call_step("z", "w/Z/Do", json::object(),
                            {{"when", "${steps.check.output.nope}"}}),
                  call_step("after", "w/After/Do")}}});
  start();
  log->script["w/Check/Do"]
      = {fake_reply::ok({{"go", false}}), fake_reply::ok({{"go", true}})};
  log->echo("w/Y/Do");
  auto run = run_now({{"workflow", "when"}});
  CAF_CHECK_EQUAL(str(run, "status"), "success");
  CAF_CHECK_EQUAL(str(step_of(run, "x"), "status"), "skipped");
  CAF_CHECK_EQUAL(str(step_of(run, "y"), "status"), "success");
  CAF_CHECK_EQUAL(output_of(run, "y"), (json{{"x", "skipped"}}));
  CAF_CHECK_EQUAL(log->paths(), (strings{"w/Check/Do", "w/Y/Do"}));
  // A when that does not resolve fails its step (and stops the run).
  run = run_now({{"workflow", "badwhen"}});
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto z = step_of(run, "z");
  CAF_CHECK_EQUAL(str(z, "status"), "failed");
  auto error = str(z, "error");
  MESH_CHECK_MSG(contains(error, "step z") && contains(error, "nope"), error);
  CAF_CHECK_EQUAL(log->of("w/Z/Do").size(), 0u);
  CAF_CHECK_EQUAL(log->of("w/After/Do").size(), 0u);
}

CAF_TEST(a reference to a missing field fails the step naming the path) {
  add_workflow(
      {{"name", "ref"},
       {"steps",
        {call_step("a", "r/A/Do"),
         call_step("b", "r/B/Do", {{"id", "${steps.a.output.user.id}"}})}}});
  start();
  log->handlers["r/A/Do"] = [](const json&) {
    return fake_reply::ok({{"name", "ann"}});
  };
  auto run = run_now({{"workflow", "ref"}});
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto b = step_of(run, "b");
  CAF_CHECK_EQUAL(str(b, "status"), "failed");
  auto error = str(b, "error");
  MESH_CHECK_MSG(contains(error, "step b")
                     && contains(error, "${steps.a.output.user.id}")
                     && contains(error, "'user'"),
                 error);
  auto run_error = str(run, "error");
  MESH_CHECK_MSG(contains(run_error, "step b"), run_error);
  CAF_CHECK_EQUAL(log->paths(), strings{"r/A/Do"});
}

CAF_TEST(a step is retried after its backoff in simulated time) {
  add_workflow(
      {{"name", "retry"},
       {"steps",
        {call_step("r", "r/R/Do", json::object(),
                   {{"retry", {{"max_attempts", 3}, {"backoff_ms", 100}}}})}}});
  start();
  log->script["r/R/Do"] = {fake_reply::error(status_code::unavailable, "down"),
                           fake_reply::error(status_code::unavailable, "down"),
                           fake_reply::ok({{"n", 3}})};
  auto reply = post_run({{"workflow", "retry"}});
  CAF_CHECK_EQUAL(log->calls.size(), 1u);
  wait(90ms);
  CAF_CHECK_EQUAL(log->calls.size(), 1u); // not before its 100 ms
  wait(10ms);
  CAF_CHECK_EQUAL(log->calls.size(), 2u);
  // The second retry waits backoff x multiplier (default 2): 200 ms.
  wait(190ms);
  CAF_CHECK_EQUAL(log->calls.size(), 2u);
  wait(10ms);
  CAF_CHECK_EQUAL(log->calls.size(), 3u);
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "success");
  auto r = step_of(run, "r");
  CAF_CHECK_EQUAL(r["attempts"].get<int>(), 3);
  CAF_CHECK_EQUAL(r["output"], (json{{"n", 3}}));
  CAF_CHECK_EQUAL(r["duration_ms"].get<int64_t>(), 300);
}

CAF_TEST(a call no node took is tried again while the runner rejoins) {
  add_workflow({{"name", "rejoin"}, {"steps", {call_step("a", "r/A/Do")}}});
  start();
  log->script["r/A/Do"]
      = {fake_reply::no_node(status_code::unavailable, "no route"),
         fake_reply::no_node(status_code::not_found, "no node serves it"),
         fake_reply::ok({{"x", 1}})};
  auto reply = post_run({{"workflow", "rejoin"}});
  wait(190ms);
  CAF_CHECK_EQUAL(log->calls.size(), 1u);
  wait(10ms);
  CAF_CHECK_EQUAL(log->calls.size(), 2u);
  wait(200ms);
  CAF_CHECK_EQUAL(log->calls.size(), 3u);
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "success");
  CAF_CHECK_EQUAL(step_of(run, "a")["attempts"].get<int>(), 1);
  // Past the grace (10 s by default), it is an attempt like any other.
  wait(10s);
  log->script["r/A/Do"]
      = {fake_reply::no_node(status_code::unavailable, "no route")};
  run = run_now({{"workflow", "rejoin"}});
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  CAF_CHECK_EQUAL(log->calls.size(), 4u);
}

CAF_TEST(a step timeout bounds the request deadline) {
  add_workflow(
      {{"name", "slow"},
       {"steps",
        {call_step("s", "t/S/Do", json::object(), {{"timeout_ms", 500}})}}});
  start();
  log->handlers["t/S/Do"] = [](const json&) {
    return fake_reply::error(status_code::deadline_exceeded, "too slow");
  };
  auto run = run_now({{"workflow", "slow"}});
  auto deadline = log->calls.at(0)->req.deadline_ms();
  CAF_CHECK_GREATER(deadline, 0u);
  CAF_CHECK_LESS_OR_EQUAL(deadline, 500u);
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto s = step_of(run, "s");
  CAF_CHECK_EQUAL(str(s, "status"), "failed");
  CAF_CHECK_EQUAL(str(s, "error_status"), "deadline_exceeded");
  // A router that never answers: the runner gives up on its own.
  log->handlers.clear();
  auto reply = post_run({{"workflow", "slow"}});
  wait(2400ms);
  CAF_CHECK(!reply->done());
  wait(200ms);
  CAF_REQUIRE(reply->value.has_value());
  auto late = *reply->value;
  CAF_CHECK_EQUAL(str(step_of(late, "s"), "error_status"), "deadline_exceeded");
}

CAF_TEST(a run past its timeout ends timed_out and compensates) {
  add_workflow(two_steps("timed", {{"timeout_ms", 1000}}));
  start();
  log->echo("u/Undo/a");
  auto reply = post_run({{"workflow", "timed"}, {"input", {{"reason", "t"}}}});
  answer("s/A/Do", {{"id", "A7"}});
  auto deadline = log->pending("s/B/Do").req.deadline_ms();
  CAF_CHECK_LESS_OR_EQUAL(deadline, 1000u);
  wait(990ms);
  CAF_CHECK(!reply->done());
  wait(10ms);
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "timed_out");
  auto b = step_of(run, "b");
  CAF_CHECK_EQUAL(str(b, "status"), "failed");
  auto error = str(b, "error");
  MESH_CHECK_MSG(contains(error, "timed out"), error);
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "compensated");
  CAF_REQUIRE_EQUAL(log->of("u/Undo/a").size(), 1u);
  CAF_CHECK_EQUAL(log->of("u/Undo/a")[0]->params,
                  (json{{"id", "A7"}, {"why", "t"}}));
}

CAF_TEST(a cancelled run compensates and ignores late answers) {
  add_workflow(two_steps("cancel"));
  start();
  auto reply = post_run({{"workflow", "cancel"}, {"input", {{"reason", "c"}}}});
  answer("s/A/Do", {{"id", "A1"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/B/Do"});
  auto runs = ask<json>(wf, atom::runs_v, json{{"status", "running"}});
  CAF_REQUIRE_EQUAL(runs["runs"].size(), 1u);
  auto id = str(runs["runs"][0], "id");
  auto cancel = post(atom::cancel_v, id);
  // Answered once the compensation is over.
  CAF_CHECK(!cancel->done());
  CAF_CHECK_EQUAL(log->pending("u/Undo/a").params,
                  (json{{"id", "A1"}, {"why", "c"}}));
  answer("u/Undo/a");
  CAF_REQUIRE(cancel->value.has_value());
  CAF_REQUIRE(reply->value.has_value());
  auto run = *cancel->value;
  CAF_CHECK_EQUAL(str(run, "status"), "cancelled");
  CAF_CHECK_EQUAL(str(*reply->value, "status"), "cancelled");
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "compensated");
  CAF_CHECK_EQUAL(str(step_of(run, "b"), "status"), "failed");
  // The cancelled step's answer comes late: nothing changes.
  answer("s/B/Do", {{"id", "B1"}});
  auto shown = show(id);
  CAF_CHECK_EQUAL(str(shown, "status"), "cancelled");
  auto b = step_of(shown, "b");
  CAF_CHECK_EQUAL(str(b, "status"), "failed");
  CAF_CHECK(b["output"].is_null());
  CAF_CHECK_EQUAL(log->calls.size(), 3u);
  auto stats = ask<json>(wf, atom::stats_v);
  CAF_CHECK_EQUAL(stats["late_answers"].get<int>(), 1);
  // An ended run cannot be cancelled; an unknown one is not found.
  auto again = ask_error<json>(wf, atom::cancel_v, id);
  CAF_CHECK_EQUAL(to_status_code(again), status_code::invalid_argument);
  auto none = ask_error<json>(wf, atom::cancel_v, std::string{"nope"});
  CAF_CHECK_EQUAL(to_status_code(none), status_code::not_found);
}

CAF_TEST(after a crash an idempotent step in flight is sent again) {
  add_workflow(two_steps("durable"));
  log->idempotent["s/B/Do"] = 1;
  start();
  auto first = ask<json>(wf, atom::run_v,
                         json{{"workflow", "durable"}, {"async", true}});
  auto id = str(first, "run_id");
  answer("s/A/Do", {{"id", "A1"}});
  CAF_CHECK_EQUAL(log->in_flight_paths(), strings{"s/B/Do"});
  restart();
  // The old runner's answer goes nowhere.
  reply(*log->of("s/B/Do").at(0), fake_reply::ok({{"stale", true}}));
  CAF_CHECK_EQUAL(log->of("s/A/Do").size(), 1u);
  CAF_REQUIRE_EQUAL(log->of("s/B/Do").size(), 2u);
  CAF_CHECK_EQUAL(log->of("s/B/Do")[1]->params, (json{{"n", 1}}));
  CAF_CHECK_EQUAL(status_of(id), "running");
  answer("s/B/Do", {{"fresh", true}});
  auto run = show(id);
  CAF_CHECK_EQUAL(str(run, "status"), "success");
  CAF_CHECK_EQUAL(output_of(run, "a"), (json{{"id", "A1"}}));
  CAF_CHECK_EQUAL(output_of(run, "b"), (json{{"fresh", true}}));
  CAF_CHECK(log->of("u/Undo/a").empty());
}

CAF_TEST(after a crash a non - idempotent step in flight fails the run) {
  add_workflow(two_steps("fragile"));
  start();
  auto first = ask<json>(wf, atom::run_v,
                         json{{"workflow", "fragile"},
                              {"input", {{"reason", "crash"}}},
                              {"async", true}});
  auto id = str(first, "run_id");
  answer("s/A/Do", {{"id", "A1"}});
  restart();
  CAF_CHECK_EQUAL(log->of("s/A/Do").size(), 1u);
  CAF_CHECK_EQUAL(log->of("s/B/Do").size(), 1u);
  // Under stop: a is compensated.
  CAF_CHECK_EQUAL(log->in_flight_paths(), (strings{"s/B/Do", "u/Undo/a"}));
  CAF_CHECK_EQUAL(log->pending("u/Undo/a").params,
                  (json{{"id", "A1"}, {"why", "crash"}}));
  answer("u/Undo/a");
  auto run = show(id);
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto b = step_of(run, "b");
  CAF_CHECK_EQUAL(str(b, "status"), "failed");
  CAF_CHECK_EQUAL(str(b, "error"), "interrupted by a node restart");
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "compensated");
  auto error = str(run, "error");
  MESH_CHECK_MSG(contains(error, "step b"), error);
}

CAF_TEST_FIXTURE_SCOPE_END()
