#define CAF_SUITE actors.workflow_shutdown

// The workflow runner while its node shuts down (atom::drain) or when it
// crashes: callers get an answer, nothing new starts, and a failure that no handler reported
// (the node stopping under a step) is not recorded, so that the next start
// resumes the run instead of failing or compensating it.

#include "workflow_fixture.hpp"

using namespace mesh;
using namespace mesh::test;

namespace {

json two_steps() {
  return {{"name", "pair"},
          {"mode", "sequential"},
          {"steps",
           {call_step("a", "p/P/a", json::object(),
                      {{"compensate", {{"call", "u/Undo/a"}}}}),
            call_step("b", "p/P/b")}}};
}

caf::error drain(workflow_fixture& f) {
  auto handle = f.self->request(f.wf, caf::infinite, atom::drain_v);
  f.run();
  caf::error result;
  handle.receive([](caf::ok_atom) {}, [&](caf::error& e) { result = e; });
  return result;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(workflow_shutdown_tests, workflow_fixture)

CAF_TEST(a drain answers the callers and keeps the run for the next start) {
  add_workflow(two_steps());
  start();
  auto waiting = post_run({{"workflow", "pair"}});
  answer("p/P/a", {{"id", 1}});
  CAF_REQUIRE_EQUAL(log->in_flight_paths(), std::vector<std::string>{"p/P/b"});
  CAF_CHECK(!drain(*this));
  // The caller waiting for the run is answered at once, in Mesh's words.
  CAF_REQUIRE(waiting->error.has_value());
  CAF_CHECK_EQUAL(to_status_code(*waiting->error), status_code::unavailable);
  MESH_CHECK_MSG(contains(error_text(*waiting->error), "shutting down"),
                 error_text(*waiting->error));
  // The router stops under b: no handler said so, nothing is recorded.
  reply(log->pending("p/P/b"),
        fake_reply::no_node(status_code::unavailable, "the node is stopping"));
  auto doc = show(str(ask<json>(wf, atom::runs_v, json::object())["runs"][0],
                      "id"));
  CAF_CHECK_EQUAL(str(doc, "status"), "running");
  CAF_CHECK_EQUAL(str(step_of(doc, "b"), "status"), "running");
  // Nothing was compensated either.
  CAF_CHECK(log->of("u/Undo/a").empty());
}

CAF_TEST(a drained run resumes at the next start without running a again) {
  add_workflow(two_steps());
  log->idempotent["p/P/b"] = 1;
  start();
  auto waiting = post_run({{"workflow", "pair"}});
  CAF_CHECK(!waiting->done());
  answer("p/P/a", {{"id", 1}});
  CAF_CHECK(!drain(*this));
  reply(log->pending("p/P/b"),
        fake_reply::no_node(status_code::unavailable, "the node is stopping"));
  auto id = str(ask<json>(wf, atom::runs_v, json::object())["runs"][0], "id");
  restart();
  // b is idempotent: sent again; a is not called again.
  answer("p/P/b", {{"done", true}});
  CAF_CHECK_EQUAL(status_of(id), "success");
  CAF_CHECK_EQUAL(log->of("p/P/a").size(), 1u);
  CAF_CHECK_EQUAL(log->of("p/P/b").size(), 2u);
}

CAF_TEST(a caller waiting when the runner crashes gets an answer) {
  add_workflow(two_steps());
  start();
  auto waiting = post_run({{"workflow", "pair"}});
  CAF_REQUIRE_EQUAL(log->in_flight_paths(), std::vector<std::string>{"p/P/a"});
  restart(); // killed: its successor resumes the run
  CAF_REQUIRE(waiting->error.has_value());
  CAF_CHECK_EQUAL(to_status_code(*waiting->error), status_code::unavailable);
  MESH_CHECK_MSG(contains(error_text(*waiting->error), "resumes"),
                 error_text(*waiting->error));
}

CAF_TEST(a stored run larger than the node takes is not resumed) {
  add_workflow(two_steps());
  log->idempotent["p/P/a"] = 1; // a resumed run sends a again
  start();
  auto async = [this](json input) {
    return str(ask<json>(wf, atom::run_v,
                         json{{"workflow", "pair"},
                              {"input", std::move(input)},
                              {"async", true}}),
               "run_id");
  };
  auto small = async({{"n", 1}});
  auto big = async({{"text", std::string(1200000, 'x')}});
  CAF_REQUIRE_EQUAL(log->of("p/P/a").size(), 2u);
  // The limit went down while the node was stopped (or the file was
  // edited): a two-step run may now hold about 1 MB, and the big run's
  // row is set aside before it is read.
  max_payload_bytes = 1024;
  restart();
  // Only the small run was resumed: a sent once more. The old runner's
  // calls are answered and go nowhere.
  CAF_REQUIRE_EQUAL(log->of("p/P/a").size(), 3u);
  for (size_t i = 0; i < 2; ++i)
    reply(*log->of("p/P/a").at(i), fake_reply::ok({{"stale", true}}));
  answer("p/P/a", {{"id", 1}});
  answer("p/P/b");
  CAF_CHECK_EQUAL(status_of(small), "success");
  auto err = ask_error<json>(wf, atom::runs_v, big);
  CAF_CHECK_EQUAL(to_status_code(err), status_code::unavailable);
  MESH_CHECK_MSG(contains(error_text(err), "run " + big + ": document of "),
                 error_text(err));
  // Listed for what it is, after the runs that can be read; counted.
  auto listed = ask<json>(wf, atom::runs_v, json::object())["runs"];
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  CAF_CHECK_EQUAL(str(listed[0], "id"), small);
  CAF_CHECK_EQUAL(str(listed[1], "id"), big);
  CAF_CHECK_EQUAL(str(listed[1], "workflow"), "pair");
  CAF_CHECK_EQUAL(str(listed[1], "status"), "unreadable");
  MESH_CHECK_MSG(contains(str(listed[1], "error"), "document of "),
                 str(listed[1], "error"));
  auto stats = ask<json>(wf, atom::stats_v);
  CAF_CHECK_EQUAL(stats.value("runs_unreadable", 0), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
