#define CAF_SUITE config.schema_messages
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// The schema's complaints in a person's words (config/schema_messages.cpp),
// for each kind of document a user writes: node config, manifest, job,
// workflow. Each test names the exact line the user reads.

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/json_schema.hpp"
#include "config/manifests/manifest.hpp"
#include "config/node_config.hpp"
#include "tasks/jobs/job.hpp"
#include "workflows/workflow.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

// "cfg.json: pointer: message" per problem.
std::vector<std::string> node_problems(const json& layer) {
  return check_config_layer(layer, "cfg.json");
}

std::vector<std::string> manifest_problems(const json& doc) {
  std::vector<std::string> out;
  auto r = parse_manifest(doc, "m", "m.json");
  if (auto* err = std::get_if<manifest_load_error>(&r))
    for (const auto& p : err->problems)
      out.push_back(p.pointer + ": " + p.message);
  return out;
}

std::vector<std::string> job_problems(const json& doc) {
  std::vector<std::string> out;
  auto r = parse_job(doc, "j.json", make_runtime_table(json::object(), {}),
                     [](const std::string&, const std::string&) {
                       return std::string{};
                     });
  if (auto* err = std::get_if<manifest_load_error>(&r))
    for (const auto& p : err->problems)
      out.push_back(p.pointer + ": " + p.message);
  return out;
}

std::vector<std::string> workflow_problems(const json& doc) {
  std::vector<std::string> out;
  auto r = parse_workflow(doc, "w.json");
  if (auto* err = std::get_if<manifest_load_error>(&r))
    for (const auto& p : err->problems)
      out.push_back(p.pointer + ": " + p.message);
  return out;
}

// The one problem of a document that has exactly one.
std::string only(const std::vector<std::string>& xs) {
  std::string all;
  for (const auto& x : xs)
    all += "\n  " + x;
  MESH_CHECK_MSG(xs.size() == 1, "expected one problem, got:" << all);
  return xs.empty() ? std::string{} : xs.front();
}

json good_manifest() {
  return json::parse(R"({
    "description": "d", "owner": "o", "input_schema": {},
    "strategy": {"path": "percentage_rollout",
                 "args": {"bucketing_key": "user_id"}},
    "variants": [{"id": "a", "path": "ns/Svc/A", "weight": 1}]})");
}

json good_job() {
  return {{"id", "j"},         {"runtime", "mesh"},
          {"target", "ns/Svc/Run"}, {"inputs", {"d"}}};
}

json good_workflow() {
  return json::parse(R"({"name": "w", "steps": [
    {"id": "a", "call": "ns/Svc/A"}, {"id": "b", "call": "ns/Svc/B"}]})");
}

} // namespace

CAF_TEST(a typo in a node config key names the key it meant) {
  CAF_CHECK_EQUAL(only(node_problems({{"lisen", "127.0.0.1:0"}})),
                  "cfg.json: /lisen: unknown key 'lisen'; did you mean "
                  "'listen'?");
  // Few keys: all of them are listed too.
  CAF_CHECK_EQUAL(only(node_problems({{"console", {{"tokn", "x"}}}})),
                  "cfg.json: /console/tokn: unknown key 'tokn'; did you mean "
                  "'token'? (allowed: listen, token, token_file)");
  // Nothing close: the allowed keys, however many.
  auto colour = only(node_problems({{"colour", "red"}}));
  CAF_CHECK(colour.rfind("cfg.json: /colour: unknown key 'colour' (allowed: "
                         "audit, cluster, console,",
                         0)
            == 0);
  // Inside a map of runtimes: the runtime's own keys.
  CAF_CHECK_EQUAL(only(node_problems(
                    {{"runtimes", {{"r", {{"kind", "mesh"}, {"kindd", 1}}}}}})),
                  "cfg.json: /runtimes/r/kindd: unknown key 'kindd'; did you "
                  "mean 'kind'? (allowed: capabilities, kind, lease_ms, "
                  "max_attempts, max_in_flight)");
}

CAF_TEST(a bad enum value lists the valid ones) {
  CAF_CHECK_EQUAL(only(node_problems({{"log_level", "verbose"}})),
                  "cfg.json: /log_level: 'verbose' is not one of: trace, "
                  "debug, info, warn, error, critical, off");
  CAF_CHECK_EQUAL(only(node_problems({{"tasks", {{"synchronous", 1}}}})),
                  "cfg.json: /tasks/synchronous: 1 is not one of: full, "
                  "normal, off");
}

CAF_TEST(types and alternatives speak of what the user wrote) {
  CAF_CHECK_EQUAL(only(node_problems({{"limits", {{"max_queue", "ten"}}}})),
                  "cfg.json: /limits/max_queue: expected integer, not "
                  "string 'ten'");
  // console is "host:port" or an object: a number is neither, in one line.
  CAF_CHECK_EQUAL(only(node_problems({{"console", 5}})),
                  "cfg.json: /console: expected string or object, not "
                  "number 5");
  // A string in the right place but of the wrong form: the form, once.
  auto http = only(node_problems({{"http", "nowhere"}}));
  CAF_CHECK(http.rfind("cfg.json: /http: 'nowhere' does not have the "
                       "expected form (pattern ",
                       0)
            == 0);
}

CAF_TEST(a number out of range names its bounds) {
  CAF_CHECK_EQUAL(only(node_problems({{"cluster", {{"serve_chunk", 300}}}})),
                  "cfg.json: /cluster/serve_chunk: 300 is out of range: it "
                  "must be at least 0 and at most 256");
  // Past 2^63 (valijson reads it as a negative number): still the value.
  CAF_CHECK_EQUAL(
    only(node_problems(
      {{"cluster", {{"monitors", std::numeric_limits<uint64_t>::max()}}}})),
    "cfg.json: /cluster/monitors: 18446744073709551615 is out of range: it "
    "must be at least 1 and at most 64");
  CAF_CHECK_EQUAL(
    only(node_problems(
      {{"scheduler",
        {{"max_throughput", std::numeric_limits<uint64_t>::max()}}}})),
    "cfg.json: /scheduler/max_throughput: 18446744073709551615 is out of "
    "range: it must be at least 1 and at most 1000000");
}

// So that every number a user writes is refused in those words past 2^63,
// each of our schemas bounds every number on both sides (the node
// config's, manifests', jobs' and workflows' compile above and below).
CAF_TEST(an embedded schema with a number bounded on one side is a bug) {
  // What compile_embedded says of `schema`: "" when it compiles.
  auto complaint = [](const json& schema) -> std::string {
    try {
      compile_embedded(schema, "t");
      return {};
    } catch (const std::logic_error& e) {
      return e.what();
    }
  };
  auto field = [](json n) {
    return json{{"type", "object"}, {"properties", {{"n", std::move(n)}}}};
  };
  CAF_CHECK_EQUAL(
    complaint(field({{"type", "integer"}, {"minimum", 0}, {"maximum", 9}})),
    "");
  for (auto bad : {json{{"type", "integer"}, {"minimum", 0}},
                   json{{"type", "integer"}, {"maximum", 9}},
                   json{{"type", json::array({"integer", "string"})}},
                   json{{"type", "number"}, {"minimum", 0}}})
    CAF_CHECK_EQUAL(complaint(field(bad)),
                    "embedded t schema: /properties/n is a number "
                    "without both a minimum and a maximum");
  // Values are data, not schemas: an unbounded "type" inside one is none.
  for (auto key : {"default", "enum", "const", "examples"})
    CAF_CHECK_EQUAL(complaint(json{{"type", "object"},
                                   {key, json::array({json{{"type",
                                                            "integer"}}})}}),
                    "");
  // A member of a keyword holding schemas by name may be called
  // "default": its schema is still one.
  for (std::string by_name : {"properties", "patternProperties",
                              "definitions", "$defs", "dependencies",
                              "dependentSchemas"})
    CAF_CHECK_EQUAL(complaint(json{{by_name,
                                    {{"default", {{"type", "integer"}}}}}}),
                    "embedded t schema: /" + by_name
                      + "/default is a number without both a minimum and "
                        "a maximum");
  // Inside an array of alternatives too.
  CAF_CHECK_EQUAL(
    complaint(json{{"oneOf", json::array({json{{"type", "integer"}}})}}),
    "embedded t schema: /oneOf/0 is a number without both a minimum and "
    "a maximum");
}

CAF_TEST(manifests jobs and workflows get the same words) {
  auto m = good_manifest();
  m["descripton"] = "typo";
  CAF_CHECK_EQUAL(only(manifest_problems(m)),
                  "/descripton: unknown key 'descripton'; did you mean "
                  "'description'? (allowed: description, experiment, "
                  "input_schema, owner, strategy, variants)");
  auto j = good_job();
  j["priority"] = "urgent";
  CAF_CHECK_EQUAL(only(job_problems(j)),
                  "/priority: 'urgent' is not one of: normal, backfill");
  j = good_job();
  j["inptus"] = {"x"};
  CAF_CHECK(only(job_problems(j)).rfind(
              "/inptus: unknown key 'inptus'; did you mean 'inputs'?", 0)
            == 0);
  auto w = good_workflow();
  w["steps"][1]["dependson"] = {"a"};
  CAF_CHECK(only(workflow_problems(w)).rfind(
              "/steps/1/dependson: unknown key 'dependson'; did you mean "
              "'depends_on'?",
              0)
            == 0);
  w = good_workflow();
  w["mode"] = "graph";
  CAF_CHECK_EQUAL(only(workflow_problems(w)),
                  "/mode: 'graph' is not one of: sequential, parallel, dag");
}

CAF_TEST(a secret of the wrong form is not shown) {
  auto text = only(node_problems({{"console", {{"token", 12345678}}}}));
  CAF_CHECK(text.find("12345678") == std::string::npos);
  CAF_CHECK(text.find("(hidden)") != std::string::npos);
  text = only(node_problems({{"cluster", {{"secret", 987654}}}}));
  CAF_CHECK(text.find("987654") == std::string::npos);
}

CAF_TEST(missing keys are named) {
  CAF_CHECK(manifest_problems(good_manifest()).empty());
  auto m = good_manifest();
  m.erase("owner");
  CAF_CHECK_EQUAL(only(manifest_problems(m)),
                  ": missing required key 'owner'");
}
