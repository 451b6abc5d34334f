#define CAF_SUITE workflows.definition_references
#include "check.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "workflow_fixtures.hpp" // three_steps, accepted, problems, has
#include "workflows/workflow.hpp"

// The references of one workflow document: each `${steps...}` in params,
// compensations and the output must parse and name a step that exists and
// may be used there (an ancestor; itself only in its compensation; any step
// in the output), and `when` must be exactly one reference. Problems carry
// their exact JSON pointer. The other rules are in
// workflow_definition_test.cpp.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

CAF_TEST(references name ancestors and parse) {
  auto doc = three_steps("dag");
  doc["steps"][1]["params"] = {{"user", {{"id", "${steps.a.output.id}"}}}};
  CAF_CHECK(has(problems(doc), "/steps/1/params/user/id",
                "step 'a' is not an ancestor of step 'b' (add it to "
                "depends_on)"));
  doc["steps"][1]["depends_on"] = {"a"};
  CAF_CHECK(accepted(doc) != nullptr);
  doc["steps"][1]["params"]["user"]["id"] = "${steps.}";
  CAF_CHECK(has(problems(doc), "/steps/1/params/user/id", "${steps.}"));
  doc["steps"][1]["params"]["user"]["id"] = {"x", "${input.a"};
  CAF_CHECK(has(problems(doc), "/steps/1/params/user/id/1", "unclosed"));
  doc["steps"][1]["params"]["user"]["id"] = "id ${steps.zz.output}";
  CAF_CHECK(has(problems(doc), "/steps/1/params/user/id", "unknown step 'zz'"));
  doc["steps"][1]["params"]["user"]["id"] = "${steps.b.output}";
  CAF_CHECK(has(problems(doc), "/steps/1/params/user/id",
                "step 'b' cannot reference itself"));
  doc = three_steps();
  doc["steps"][0]["params"] = {{"x", "${steps.c.status}"}};
  CAF_CHECK(has(problems(doc), "/steps/0/params/x",
                "step 'c' is not an ancestor of step 'a'"));
  doc = three_steps("parallel");
  doc["steps"][1]["params"] = {{"x", "${steps.a.output}"}};
  CAF_CHECK(has(problems(doc), "/steps/1/params/x",
                "parallel steps cannot reference one another"));
  // A compensation may use its own step; the output any step.
  doc = three_steps("parallel");
  doc["steps"][1]["compensate"]
      = {{"call", "ns/Svc/Undo"}, {"params", {{"id", "${steps.b.output}"}}}};
  doc["output"] = {{"all", {"${steps.a.output}", "${steps.c.output}"}}};
  CAF_CHECK(accepted(doc) != nullptr);
  doc["steps"][1]["compensate"]["params"]["x"] = "${steps.a.output}";
  doc["output"]["all"][1] = "${steps.nope.output}";
  auto ps = problems(doc);
  CAF_CHECK(has(ps, "/steps/1/compensate/params/x",
                "parallel steps cannot reference one another"));
  CAF_CHECK(has(ps, "/output/all/1", "unknown step 'nope'"));
}

CAF_TEST(when is one whole reference) {
  auto doc = three_steps();
  doc["steps"][1]["when"] = "${steps.a.output.ok}";
  CAF_CHECK(accepted(doc) != nullptr);
  for (const char* bad :
       {"true", "x ${input.ok}", "${input.a}${input.b}", "$${input.ok}", ""}) {
    doc["steps"][1]["when"] = bad;
    CAF_CHECK(has(problems(doc), "/steps/1/when", "is not one reference"));
  }
  doc["steps"][1]["when"] = "${steps.}";
  CAF_CHECK(has(problems(doc), "/steps/1/when", "${steps.}"));
  doc["steps"][1]["when"] = "${steps.c.output.ok}";
  CAF_CHECK(has(problems(doc), "/steps/1/when", "not an ancestor"));
}
