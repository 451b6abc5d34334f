#define CAF_SUITE actors.workflow_limits
#include "workflow_fixture.hpp"

#include <string>
#include <vector>

#include "workflows/runs/workflow_run.hpp"

// A run's record keeps only what it can read back after a restart
// (max_run_bytes): a step's output above limits.max_payload_bytes (a local
// handler's, a sub-workflow's) fails the step, a run's own output, input or
// context above it fails or refuses the run, and a long error is cut. A run
// whose output cannot be built at all fails too.

using namespace mesh;
using namespace mesh::test;

namespace {

using strings = std::vector<std::string>;

json blob(size_t bytes) {
  return {{"blob", std::string(bytes, 'x')}};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(workflow_limits_tests, workflow_fixture)

CAF_TEST(a step output above the payload limit fails the step) {
  add_workflow({{"name", "big"},
                {"steps", {call_step("a", "s/A/Do"), call_step("b", "s/B/Do")}}});
  max_payload_bytes = 1024;
  start();
  auto reply = post_run({{"workflow", "big"}});
  answer("s/A/Do", blob(2000));
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto a = step_of(run, "a");
  CAF_CHECK_EQUAL(str(a, "status"), "failed");
  CAF_CHECK_EQUAL(str(a, "error_status"), "internal");
  CAF_CHECK(a["output"].is_null());
  auto error = str(a, "error");
  MESH_CHECK_MSG(contains(error, "the output of step a is ")
                   && contains(error, "above limits.max_payload_bytes (1024)"),
                 error);
  CAF_CHECK_EQUAL(log->paths(), strings{"s/A/Do"}); // b never ran
  // The record is one the next start reads back.
  restart();
  auto again = show(str(run, "id"));
  CAF_CHECK_EQUAL(str(again, "status"), "failed");
  CAF_CHECK_EQUAL(str(step_of(again, "a"), "error"), error);
}

CAF_TEST(an output within the limit passes and its run succeeds) {
  add_workflow({{"name", "fits"}, {"steps", {call_step("a", "s/A/Do")}}});
  max_payload_bytes = 1024;
  start();
  auto reply = post_run({{"workflow", "fits"}});
  answer("s/A/Do", blob(900));
  CAF_REQUIRE(reply->value.has_value());
  CAF_CHECK_EQUAL(str(*reply->value, "status"), "success");
  CAF_CHECK_EQUAL(output_of(*reply->value, "a"), blob(900));
}

CAF_TEST(a sub - workflow output above the limit fails the parent step) {
  // Each of x's outputs fits; the child's template quotes x twice.
  add_workflow({{"name", "child"},
                {"steps", {call_step("x", "c/X/Do")}},
                {"output",
                 {{"a", "${steps.x.output}"}, {"b", "${steps.x.output}"}}}});
  add_workflow({{"name", "parent"},
                {"steps", {{{"id", "sub"}, {"workflow", "child"}}}}});
  max_payload_bytes = 1024;
  start();
  auto reply = post_run({{"workflow", "parent"}});
  answer("c/X/Do", blob(700));
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  auto sub = step_of(run, "sub");
  CAF_CHECK_EQUAL(str(sub, "status"), "failed");
  auto error = str(sub, "error");
  MESH_CHECK_MSG(contains(error, "sub-workflow child run ")
                   && contains(error, "ended failed: output: the run's output "
                                      "is ")
                   && contains(error, "above limits.max_payload_bytes (1024)"),
                 error);
  auto child = show(sub["detail"].value("run", std::string{}));
  CAF_CHECK_EQUAL(str(child, "status"), "failed");
  CAF_CHECK(child["output"].is_null());
}

CAF_TEST(every step output together is a run output only within the limit) {
  add_workflow({{"name", "all"},
                {"steps", {call_step("a", "s/A/Do"), call_step("b", "s/B/Do")}}});
  max_payload_bytes = 1024;
  start();
  auto reply = post_run({{"workflow", "all"}});
  answer("s/A/Do", blob(600));
  answer("s/B/Do", blob(600));
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "success");
  CAF_CHECK_EQUAL(str(step_of(run, "b"), "status"), "success");
  auto error = str(run, "error");
  MESH_CHECK_MSG(contains(error, "output: the run's output is ")
                   && contains(error, "no output template"),
                 error);
}

CAF_TEST(a run input or context above the payload limit is refused) {
  add_workflow({{"name", "one"}, {"steps", {call_step("a", "s/A/Do")}}});
  max_payload_bytes = 1024;
  start();
  for (auto part : {"input", "context"}) {
    json req{{"workflow", "one"}, {part, blob(2000)}};
    auto err = ask_error<json>(wf, atom::run_v, req);
    CAF_CHECK_EQUAL(to_status_code(err), status_code::invalid_argument);
    MESH_CHECK_MSG(contains(error_text(err), std::string{"the run's "} + part
                                               + " is ")
                     && contains(error_text(err),
                                 "above limits.max_payload_bytes (1024)"),
                   error_text(err));
  }
  CAF_CHECK(log->paths().empty()); // nothing ran
}

CAF_TEST(a sub - workflow input above the limit fails the parent step) {
  add_workflow({{"name", "child"}, {"steps", {call_step("y", "c/Y/Do")}}});
  add_workflow({{"name", "parent"},
                {"steps",
                 {call_step("x", "p/X/Do"),
                  {{"id", "sub"},
                   {"workflow", "child"},
                   {"params",
                    {{"a", "${steps.x.output}"}, {"b", "${steps.x.output}"}}}}}}});
  max_payload_bytes = 1024;
  start();
  auto reply = post_run({{"workflow", "parent"}});
  answer("p/X/Do", blob(700));
  CAF_REQUIRE(reply->value.has_value());
  auto sub = step_of(*reply->value, "sub");
  CAF_CHECK_EQUAL(str(sub, "status"), "failed");
  CAF_CHECK_EQUAL(str(sub, "error_status"), "invalid_argument");
  auto error = str(sub, "error");
  MESH_CHECK_MSG(contains(error, "the input of sub-workflow child is ")
                   && contains(error, "above limits.max_payload_bytes (1024)"),
                 error);
  CAF_CHECK_EQUAL(log->paths(), strings{"p/X/Do"}); // the child never ran
}

CAF_TEST(an output template that cannot be resolved fails the run) {
  add_workflow({{"name", "picky"},
                {"steps", {call_step("a", "s/A/Do")}},
                {"output", {{"id", "${steps.a.output.user.id}"}}}});
  start();
  auto reply = post_run({{"workflow", "picky"}});
  answer("s/A/Do", {{"name", "ann"}}); // no "user"
  CAF_REQUIRE(reply->value.has_value());
  auto run = *reply->value;
  CAF_CHECK_EQUAL(str(run, "status"), "failed");
  CAF_CHECK_EQUAL(str(step_of(run, "a"), "status"), "success");
  CAF_CHECK(run["output"].is_null());
  auto error = str(run, "error");
  MESH_CHECK_MSG(contains(error, "output: ")
                   && contains(error, "${steps.a.output.user.id}"),
                 error);
}

CAF_TEST(a long step error is cut) {
  add_workflow({{"name", "loud"}, {"steps", {call_step("a", "s/A/Do")}}});
  start();
  auto reply = post_run({{"workflow", "loud"}});
  fail("s/A/Do", status_code::handler_error, std::string(100000, 'e'));
  CAF_REQUIRE(reply->value.has_value());
  auto error = str(step_of(*reply->value, "a"), "error");
  CAF_CHECK_LESS_OR_EQUAL(error.size(), max_run_error_bytes);
  MESH_CHECK_MSG(contains(error, "(cut: longer than 16384 bytes)"),
                 error.substr(error.size() - 64));
}

CAF_TEST_FIXTURE_SCOPE_END()
