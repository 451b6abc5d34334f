#define CAF_SUITE workflows.set
#include "check.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "temp_dir.hpp"
#include "workflows/workflow_builder.hpp"
#include "workflows/workflow_set.hpp"

// Workflows from a folder: reload keeping the last good version, removed
// files, a name declared twice, sub-workflows that are unknown or call each
// other in a cycle, a missing folder, describe(); the examples, and the
// builder writing what a file holds.

using namespace mesh;
using nlohmann::json;

namespace {

// A workflow `name` whose one step calls `sub` (a workflow) or a service.
std::string workflow(const std::string& name, const std::string& sub = "") {
  json step{{"id", "s"}};
  if (sub.empty())
    step["call"] = "ns/Svc/M";
  else
    step["workflow"] = sub;
  return json{{"name", name}, {"steps", {step}}}.dump();
}

// The failure entry of `file` in a load report, or null.
json failure_of(const json& report, const std::string& file) {
  for (const auto& f : report["failed"])
    if (f.value("file", "") == file)
      return f;
  return nullptr;
}

// True when `failure` lists one problem at `pointer` saying `text`.
bool has(const json& failure, const std::string& pointer,
         const std::string& text) {
  if (failure.is_object())
    for (const auto& e : failure["errors"])
      if (e.value("pointer", "") == pointer
          && e.value("message", "").find(text) != std::string::npos)
        return true;
  CAF_MESSAGE("failure: " << failure.dump());
  return false;
}

} // namespace

CAF_TEST(a set loads a folder and keeps the last good version) {
  test::temp_dir dir;
  dir.write("a.json", workflow("alpha"));
  dir.write("b.json", workflow("beta"));
  dir.write("notes.txt", "not a workflow");
  workflow_set set;
  auto report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["loaded"], json::array({"alpha", "beta"}));
  CAF_CHECK_EQUAL(report["failed"], json::array());
  CAF_CHECK_EQUAL(set.active().size(), 2u);
  CAF_CHECK_EQUAL(set.dir(), dir.path());
  auto before = set.find("beta");
  CAF_REQUIRE(before != nullptr);
  CAF_CHECK_EQUAL(before->file, dir.file("b.json"));
  // b.json breaks: beta keeps running in its last good version.
  dir.write("b.json", R"({"name": "beta", "steps": [{"id": "s"}]})");
  report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["loaded"], json::array({"alpha"}));
  CAF_CHECK_EQUAL(report["kept"], json::array({"beta"}));
  auto failure = failure_of(report, dir.file("b.json"));
  CAF_CHECK_EQUAL(failure.value("workflow", ""), "beta");
  CAF_CHECK(has(failure, "/steps/0", "exactly one of"));
  CAF_CHECK(failure.value("text", "").find(dir.file("b.json") + ": /steps/0: ")
            == 0);
  CAF_CHECK(set.find("beta") == before);
  CAF_CHECK_EQUAL(set.errors().count(dir.file("b.json")), 1u);
  auto shown = set.describe();
  CAF_CHECK_EQUAL(shown["dir"], dir.path());
  CAF_REQUIRE_EQUAL(shown["workflows"].size(), 2u);
  auto alpha = shown["workflows"][0];
  CAF_CHECK_EQUAL(alpha, json::parse(R"({"name": "alpha", "description": "",
    "mode": "sequential", "on_failure": "stop", "steps": 1,
    "status": "loaded", "file": ")" + dir.file("a.json")
                                     + "\"}"));
  auto beta = shown["workflows"][1];
  CAF_CHECK_EQUAL(beta["status"], "kept");
  CAF_REQUIRE_EQUAL(shown["errors"].size(), 1u);
  auto error = shown["errors"][0];
  CAF_CHECK_EQUAL(error["file"], dir.file("b.json"));
  // Fixed: the error goes and the new version runs.
  dir.write("b.json", workflow("beta"));
  report = set.load(dir.path());
  CAF_CHECK(set.errors().empty());
  CAF_CHECK(set.find("beta") != before);
  CAF_CHECK_EQUAL(report["kept"], json::array());
  // Removed: the workflow goes.
  std::filesystem::remove(dir.file("b.json"));
  report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["removed"], json::array({"beta"}));
  CAF_CHECK(set.find("beta") == nullptr);
  CAF_CHECK(set.find("alpha") != nullptr);
  // An empty folder name: nothing.
  report = set.load("");
  CAF_CHECK_EQUAL(report["removed"], json::array({"alpha"}));
  CAF_CHECK(set.active().empty());
}

CAF_TEST(a name declared by two files fails the later one) {
  test::temp_dir dir;
  dir.write("a.json", workflow("alpha"));
  dir.write("b.json", workflow("alpha"));
  workflow_set set;
  auto report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["loaded"], json::array({"alpha"}));
  CAF_CHECK(has(failure_of(report, dir.file("b.json")), "/name",
                "workflow name 'alpha' is already declared in "
                    + dir.file("a.json")));
  CAF_CHECK_EQUAL(set.find("alpha")->file, dir.file("a.json"));
}

CAF_TEST(a sub workflow must be active) {
  test::temp_dir dir;
  dir.write("a.json", workflow("alpha", "missing"));
  dir.write("b.json", workflow("beta", "alpha"));
  dir.write("c.json", workflow("gamma", "delta"));
  dir.write("d.json", workflow("delta"));
  workflow_set set;
  auto report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["loaded"], json::array({"gamma", "delta"}));
  auto a = failure_of(report, dir.file("a.json"));
  CAF_CHECK(has(a, "/steps/0/workflow", "unknown workflow 'missing'"));
  CAF_CHECK_EQUAL(a.value("workflow", ""), "alpha");
  // beta calls alpha, which is not active: beta is not either.
  CAF_CHECK(has(failure_of(report, dir.file("b.json")), "/steps/0/workflow",
                "workflow 'alpha' is not active: it fails its own checks"));
  CAF_CHECK(set.find("alpha") == nullptr);
  CAF_CHECK(set.find("beta") == nullptr);
  CAF_CHECK_EQUAL(set.errors().size(), 2u);
  // The callee goes, and so does its caller, even in its last good version.
  dir.write("c.json", "{");
  std::filesystem::remove(dir.file("d.json"));
  report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["removed"], json::array({"delta", "gamma"}));
  CAF_CHECK_EQUAL(report["kept"], json::array());
  auto c = failure_of(report, dir.file("c.json"));
  CAF_CHECK(has(c, "/", "syntax error")); // to_json writes "" as "/"
  CAF_CHECK(has(c, "/steps/0/workflow",
                "its last good version: unknown workflow 'delta'"));
  CAF_CHECK(set.active().empty());
}

CAF_TEST(sub workflows must not call each other in a cycle) {
  test::temp_dir dir;
  dir.write("a.json", workflow("alpha", "beta"));
  dir.write("b.json", workflow("beta", "alpha"));
  dir.write("c.json", workflow("gamma", "alpha"));
  dir.write("d.json", workflow("delta"));
  workflow_set set;
  auto report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["loaded"], json::array({"delta"}));
  CAF_CHECK(has(failure_of(report, dir.file("a.json")), "/steps/0/workflow",
                "sub-workflow cycle: alpha -> beta -> alpha"));
  CAF_CHECK(has(failure_of(report, dir.file("b.json")), "/steps/0/workflow",
                "sub-workflow cycle: beta -> alpha -> beta"));
  CAF_CHECK(has(failure_of(report, dir.file("c.json")), "/steps/0/workflow",
                "workflow 'alpha' is not active"));
  CAF_CHECK_EQUAL(set.active().size(), 1u);
  // Broken: the others load.
  dir.write("b.json", workflow("beta"));
  report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["failed"], json::array());
  CAF_CHECK_EQUAL(set.active().size(), 4u);
}

CAF_TEST(a missing folder is one failure and keeps what runs) {
  workflow_set set;
  auto report = set.load("/nonexistent/mesh/workflows");
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  auto failure = report["failed"][0];
  CAF_CHECK_EQUAL(failure["file"], "/nonexistent/mesh/workflows");
  CAF_CHECK(failure.value("text", "").find("cannot read workflow folder")
            != std::string::npos);
  CAF_CHECK(set.active().empty());
  test::temp_dir dir;
  dir.write("a.json", workflow("alpha"));
  set.load(dir.path());
  report = set.load(dir.file("gone"));
  CAF_CHECK_EQUAL(report["kept"], json::array({"alpha"}));
  CAF_CHECK(set.find("alpha") != nullptr);
  auto shown = set.describe();
  auto status = shown["workflows"][0]["status"];
  CAF_CHECK_EQUAL(status, "kept");
}

CAF_TEST(the example workflows load) {
  workflow_set set;
  auto report = set.load(MESH_SOURCE_DIR "/examples/workflows");
  CAF_CHECK_EQUAL(report["failed"], json::array());
  CAF_CHECK_EQUAL(report["loaded"],
                  json::array({"onboard_user", "place_order", "price_check"}));
  auto order = set.find("place_order");
  CAF_REQUIRE(order != nullptr);
  CAF_CHECK(order->mode == workflow_mode::dag);
  CAF_CHECK_EQUAL(order->steps[2].deps, (std::vector<size_t>{0, 1}));
}

CAF_TEST(the builder writes the document a file holds) {
  auto built
      = workflow_builder{"onboard_user"}
            .describe("Create a user, welcome them (e-mail or SMS, as the "
                      "welcome_message process chooses), then pick products to "
                      "show them; one step after the other.")
            .with_input_schema(json::parse(R"({"type": "object",
          "required": ["name", "email"],
          "properties": {"name": {"type": "string", "minLength": 1},
                         "email": {"type": "string", "minLength": 3}}})"))
            .add_step("create_user", "users/UserService/CreateUser",
                      {{"name", "${input.name}"}, {"email", "${input.email}"}})
            .add_step(
                workflow_step{"welcome"}
                    .process("welcome_message")
                    .params({{"user_id", "${steps.create_user.output.id}"},
                             {"name", "${steps.create_user.output.name}"}})
                    .retry(3, 500))
            .add_step(
                workflow_step{"recommend"}
                    .process("recommendations")
                    .params({{"user_id", "${steps.create_user.output.id}"},
                             {"limit", 3}}))
            .with_output({{"user", "${steps.create_user.output}"},
                          {"welcomed_by", "${steps.welcome.output.channel}"},
                          {"picks", "${steps.recommend.output}"}})
            .build();
  auto file
      = load_workflow(MESH_SOURCE_DIR "/examples/workflows/onboard_user.json");
  CAF_REQUIRE(std::holds_alternative<workflow_ptr>(file));
  CAF_CHECK_EQUAL(built, std::get<workflow_ptr>(file)->source);
  // Seed 003's words for the failure modes, and the dag form.
  auto doc = workflow_builder{"w"}
                 .add_step("a", "ns/Svc/A")
                 .add_step(workflow_step{"b"}
                               .call("ns/Svc/B")
                               .depends_on({"a"})
                               .when("${steps.a.output.ok}")
                               .timeout_ms(100)
                               .compensate("ns/Svc/UndoB"))
                 .with_mode("dag")
                 .with_error_handling("continue_on_failure")
                 .with_timeout(1000)
                 .build();
  CAF_CHECK_EQUAL(doc["on_failure"], "continue");
  auto parsed = parse_workflow(doc, "");
  CAF_REQUIRE(std::holds_alternative<workflow_ptr>(parsed));
  auto w = std::get<workflow_ptr>(parsed);
  CAF_CHECK_EQUAL(w->steps[1].deps, std::vector<size_t>{0});
  CAF_CHECK_EQUAL(w->steps[1].compensate->params, json::object());
  doc = workflow_builder{"w"}
            .add_step("a", "ns/Svc/A")
            .with_error_handling("stop_on_failure")
            .build();
  CAF_CHECK_EQUAL(doc["on_failure"], "stop");
  std::string what;
  try {
    workflow_builder{"w"}.with_error_handling("retry");
  } catch (const std::invalid_argument& e) {
    what = e.what();
  }
  CAF_CHECK_EQUAL(what, "unknown error handling 'retry' (stop, continue, "
                        "stop_on_failure, continue_on_failure)");
  // A bad workflow throws with every problem, one per line.
  what.clear();
  try {
    workflow_builder{"w"}
        .add_step("a", "nope")
        .add_step("b", "ns/Svc/B", json::object(), {"zz"})
        .with_mode("dag")
        .build();
  } catch (const std::invalid_argument& e) {
    what = e.what();
  }
  CAF_CHECK_EQUAL(what, "/steps/0/call: 'nope' is not namespace/Service/Method "
                        "(three parts of letters, digits, '.', '_', '-')\n"
                        "/steps/1/depends_on/0: unknown step 'zz'");
}
