#define CAF_SUITE tasks.jobs
#include "check.hpp"

#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tasks/job.hpp"
#include "tasks/job_set.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json good_job() {
  return json::parse(R"({
    "id": "orders.enrich",
    "description": "Adds customer data to new orders",
    "runtime": "mesh",
    "target": "orders/Enricher/Enrich",
    "inputs": ["orders.raw"],
    "outputs": ["orders.enriched"]
  })");
}

runtime_table runtimes() {
  return make_runtime_table(
      json::parse(R"({"batch": {"kind": "process", "capabilities": ["gpu"],
                              "max_in_flight": 4, "lease_ms": 60000,
                              "max_attempts": 7}})"),
      {"mesh", "process", "dispatcher", "wasm"});
}

// Every target exists except those called "missing".
std::string check_target(const std::string& kind, const std::string& target) {
  if (target.find("missing") != std::string::npos)
    return "no " + kind + " named " + target;
  return {};
}

std::variant<job_ptr, manifest_load_error> parse(const json& doc) {
  return parse_job(doc, "job.json", runtimes(), check_target);
}

// The problems of a job that must fail; fails the test if it loads.
std::vector<manifest_problem> problems(const json& doc) {
  auto result = parse(doc);
  if (auto* err = std::get_if<manifest_load_error>(&result))
    return err->problems;
  CAF_FAIL("job was accepted: " << doc.dump());
  return {};
}

// True if some problem is at `pointer` and mentions `text`.
bool has(const std::vector<manifest_problem>& ps, const std::string& pointer,
         const std::string& text) {
  for (const auto& p : ps)
    if (p.pointer == pointer && p.message.find(text) != std::string::npos)
      return true;
  std::string all;
  for (const auto& p : ps)
    all += " [" + p.pointer + ": " + p.message + "]";
  CAF_MESSAGE("problems:" << all);
  return false;
}

} // namespace

CAF_TEST(a good job loads with defaults applied) {
  auto result = parse(good_job());
  auto* j = std::get_if<job_ptr>(&result);
  CAF_REQUIRE(j != nullptr);
  const auto& job = **j;
  CAF_CHECK_EQUAL(job.id, "orders.enrich");
  CAF_CHECK_EQUAL(job.file, "job.json");
  CAF_CHECK_EQUAL(job.runtime, "mesh");
  CAF_CHECK_EQUAL(job.kind, "mesh");
  CAF_CHECK_EQUAL(job.inputs, std::vector<std::string>{"orders.raw"});
  CAF_CHECK_EQUAL(job.outputs, std::vector<std::string>{"orders.enriched"});
  CAF_CHECK(job.priority == job_priority::normal);
  CAF_CHECK_EQUAL(job.max_attempts, 3u);
  CAF_CHECK(job.lease == 300000ms);
  CAF_CHECK_EQUAL(job.max_in_flight, 64u);
  CAF_CHECK(job.heartbeat == 0ms);
  CAF_CHECK_EQUAL(job.max_queue_depth, 0u);
  CAF_CHECK(job.max_queue_age == 0ms);
  CAF_CHECK(job.retry.initial == 1000ms);
  CAF_CHECK_EQUAL(job.retry.multiplier, 2.0);
  CAF_CHECK(job.retry.max == 100000ms);
  CAF_CHECK_EQUAL(job.retry.jitter, 0.1);
  CAF_CHECK_EQUAL(job.source, good_job());
}

CAF_TEST(every field a job sets is taken) {
  auto doc = good_job();
  doc["priority"] = "backfill";
  doc["max_attempts"] = 5;
  doc["retry"] = {{"initial_ms", 500},
                  {"multiplier", 3.0},
                  {"max_ms", 9000},
                  {"jitter", 0}};
  doc["lease_ms"] = 2000;
  doc["heartbeat_ms"] = 500;
  doc["max_in_flight"] = 8;
  doc["max_queue_depth"] = 100;
  doc["max_queue_age_ms"] = 60000;
  auto result = parse(doc);
  auto* j = std::get_if<job_ptr>(&result);
  CAF_REQUIRE(j != nullptr);
  const auto& job = **j;
  CAF_CHECK(job.priority == job_priority::backfill);
  CAF_CHECK_EQUAL(job.max_attempts, 5u);
  CAF_CHECK(job.retry.initial == 500ms);
  CAF_CHECK_EQUAL(job.retry.multiplier, 3.0);
  CAF_CHECK(job.retry.max == 9000ms);
  CAF_CHECK_EQUAL(job.retry.jitter, 0.0);
  CAF_CHECK(job.lease == 2000ms);
  CAF_CHECK(job.heartbeat == 500ms);
  CAF_CHECK_EQUAL(job.max_in_flight, 8u);
  CAF_CHECK_EQUAL(job.max_queue_depth, 100u);
  CAF_CHECK(job.max_queue_age == 60000ms);
}

CAF_TEST(the runtime gives its limits to jobs that do not set them) {
  auto doc = good_job();
  doc["runtime"] = "batch";
  doc["target"] = "nightly_report";
  auto result = parse(doc);
  auto* j = std::get_if<job_ptr>(&result);
  CAF_REQUIRE(j != nullptr);
  CAF_CHECK_EQUAL((*j)->kind, "process");
  CAF_CHECK_EQUAL((*j)->max_attempts, 7u);
  CAF_CHECK(((*j)->lease == 60000ms));
  CAF_CHECK_EQUAL((*j)->max_in_flight, 4u);
  doc["max_attempts"] = 2; // the job's own value wins
  result = parse(doc);
  j = std::get_if<job_ptr>(&result);
  CAF_REQUIRE(j != nullptr);
  CAF_CHECK_EQUAL((*j)->max_attempts, 2u);
  CAF_CHECK_EQUAL((*j)->max_in_flight, 4u);
}

CAF_TEST(schema violations name the pointer) {
  auto doc = good_job();
  doc.erase("id");
  CAF_CHECK(has(problems(doc), "", "id"));
  doc = good_job();
  doc["colour"] = "blue";
  CAF_CHECK(has(problems(doc), "/colour", "unknown property 'colour'"));
  doc = good_job();
  doc["priority"] = "urgent";
  CAF_CHECK(has(problems(doc), "/priority", "normal, backfill"));
  doc = good_job();
  doc["max_attempts"] = 0;
  CAF_CHECK(has(problems(doc), "/max_attempts", ""));
  doc = good_job();
  doc["retry"] = {{"jitter", 1.5}};
  CAF_CHECK(has(problems(doc), "/retry/jitter", ""));
  doc = good_job();
  doc["retry"] = {{"delay", 1}};
  auto ps = problems(doc);
  CAF_CHECK(has(ps, "/retry/delay",
                "unknown property 'delay' (allowed: initial_ms, jitter, "
                "max_ms, multiplier)"));
  CAF_CHECK_EQUAL(ps.size(), 1u); // not repeated by valijson's summary
  doc = good_job();
  doc["lease_ms"] = "10s";
  CAF_CHECK(has(problems(doc), "/lease_ms", "expected integer"));
  doc = good_job();
  doc["inputs"] = json::array();
  CAF_CHECK(has(problems(doc), "/inputs", ""));
  doc = good_job();
  doc["id"] = "has space";
  CAF_CHECK(has(problems(doc), "/id", ""));
  // Several violations are all reported.
  doc = good_job();
  doc.erase("target");
  doc["max_in_flight"] = 0;
  ps = problems(doc);
  CAF_CHECK(has(ps, "", "target"));
  CAF_CHECK(has(ps, "/max_in_flight", ""));
}

CAF_TEST(a job is a JSON object) {
  CAF_CHECK(has(problems(json::array()), "", "JSON object"));
  CAF_CHECK(has(problems(json(42)), "", "JSON object"));
}

CAF_TEST(the runtime must exist) {
  auto doc = good_job();
  doc["runtime"] = "spark";
  CAF_CHECK(has(problems(doc), "/runtime",
                "unknown runtime 'spark' (known: batch, dispatcher, mesh, "
                "process)"));
}

CAF_TEST(a mesh target is namespace Service Method) {
  auto doc = good_job();
  doc["target"] = "orders/Enricher";
  CAF_CHECK(has(problems(doc), "/target", "namespace/Service/Method"));
  doc["target"] = "orders/Enricher/Enrich/More";
  CAF_CHECK(has(problems(doc), "/target", "namespace/Service/Method"));
  // Other kinds name their targets their own way.
  doc["runtime"] = "dispatcher";
  doc["target"] = "resize_images";
  CAF_CHECK(std::holds_alternative<job_ptr>(parse(doc)));
}

CAF_TEST(the target must exist for its kind) {
  auto doc = good_job();
  doc["runtime"] = "process";
  doc["target"] = "missing_process";
  CAF_CHECK(has(problems(doc), "/target", "no process named missing_process"));
  // A check that throws is a problem, not an escape.
  auto result
      = parse_job(good_job(), "job.json", runtimes(),
                  [](const std::string&, const std::string&) -> std::string {
                    throw std::runtime_error("db");
                  });
  auto* err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK(has(err->problems, "/target", "db"));
}

CAF_TEST(inputs and outputs are dataset names) {
  auto doc = good_job();
  doc["inputs"] = {"orders.raw", "bad name"};
  doc["outputs"] = {"x/y", ""};
  auto ps = problems(doc);
  CAF_CHECK(has(ps, "/inputs/1", "not a valid dataset name"));
  CAF_CHECK(has(ps, "/outputs/0", "not a valid dataset name"));
  CAF_CHECK(has(ps, "/outputs/1", "not a valid dataset name"));
  CAF_CHECK(valid_dataset_name("a.b_c-9"));
  CAF_CHECK(valid_dataset_name(std::string(128, 'x')));
  CAF_CHECK(!valid_dataset_name(std::string(129, 'x')));
  CAF_CHECK(!valid_dataset_name(""));
  CAF_CHECK(!valid_dataset_name("caf\xc3\xa9"));
}

CAF_TEST(a job must not feed itself) {
  auto doc = good_job();
  doc["outputs"] = {"orders.enriched", "orders.raw"};
  CAF_CHECK(has(problems(doc), "/outputs/1", "must not feed itself"));
}

CAF_TEST(retry max must not be below initial) {
  auto doc = good_job();
  doc["retry"] = {{"initial_ms", 5000}, {"max_ms", 1000}};
  CAF_CHECK(has(problems(doc), "/retry/max_ms", ">= initial_ms"));
  doc["retry"] = {{"initial_ms", 200000}}; // above the default max
  CAF_CHECK(has(problems(doc), "/retry/initial_ms", "default"));
}

CAF_TEST(files that are not JSON or not objects are clear errors) {
  test::temp_dir dir;
  auto path = dir.write("broken.json", "{\n  \"id\": \n}");
  auto result = load_job(path, runtimes(), check_target);
  auto* err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK_EQUAL(err->file, path);
  CAF_REQUIRE_EQUAL(err->problems.size(), 1u);
  CAF_CHECK_EQUAL(err->problems[0].pointer, "");
  CAF_CHECK(err->to_string().find("3:1: syntax error") != std::string::npos);
  path = dir.write("list.json", "[1, 2]");
  result = load_job(path, runtimes(), check_target);
  err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK(has(err->problems, "", "must be a JSON object"));
  result = load_job(dir.file("absent.json"), runtimes(), check_target);
  err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK(has(err->problems, "", "cannot open"));
  path = dir.write("good.json", good_job().dump());
  CAF_CHECK(std::holds_alternative<job_ptr>(
      load_job(path, runtimes(), check_target)));
}

CAF_TEST(runtime tables have the built ins and checked configured runtimes) {
  auto table = make_runtime_table(nullptr, {});
  CAF_CHECK_EQUAL(table.size(), 3u);
  for (const char* k : {"mesh", "process", "dispatcher"}) {
    CAF_REQUIRE(table.count(k) == 1);
    CAF_CHECK_EQUAL(table.at(k).kind, k);
  }
  table = runtimes();
  CAF_CHECK_EQUAL(table.at("batch").capabilities,
                  std::vector<std::string>{"gpu"});
  auto message = [](const json& configured) -> std::string {
    try {
      make_runtime_table(configured, {"mesh", "process", "dispatcher", "wasm"});
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(accepted)";
  };
  CAF_CHECK_EQUAL(message(json::parse(R"({"gpu": {"kind": "cuda"}})")),
                  "runtime 'gpu': unknown kind 'cuda' (known: dispatcher, "
                  "mesh, process, wasm)");
  CAF_CHECK_EQUAL(message(json::parse(R"({"edge": {"kind": "wasm"}})")),
                  "(accepted)");
  auto text = message(json::parse(R"({"gpu": {"kind": "wasm",
                                               "lease_ms": "1m"}})"));
  CAF_CHECK(text.find("runtime 'gpu'") != std::string::npos);
  CAF_CHECK(text.find("lease_ms") != std::string::npos);
  text = message(json::parse(R"({"gpu": {"kind": 3}})"));
  CAF_CHECK(text.find("runtime 'gpu': kind") != std::string::npos);
  text = message(json::parse(R"({"gpu": {"kind": "wasm",
                                          "capabilities": [1]}})"));
  CAF_CHECK(text.find("capabilities") != std::string::npos);
  text = message(json::parse(R"({"gpu": {"kind": "wasm",
                                          "max_in_flight": 0}})"));
  CAF_CHECK(text.find("max_in_flight") != std::string::npos);
  text = message(json::parse(R"({"gpu": "wasm"})"));
  CAF_CHECK(text.find("runtime 'gpu'") != std::string::npos);
  text = message(json::parse(R"({"mesh": {"kind": "process"}})"));
  CAF_CHECK(text.find("built in") != std::string::npos);
  CAF_CHECK(message(json::array()) != "(accepted)");
}

CAF_TEST(a job set loads a folder and keeps the last good version) {
  test::temp_dir dir;
  dir.write("a.json", good_job().dump());
  auto other = good_job();
  other["id"] = "orders.audit";
  other["inputs"] = {"orders.enriched"};
  other.erase("outputs");
  dir.write("b.json", other.dump());
  dir.write("notes.txt", "not a job");
  job_set set;
  auto report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["loaded"],
                  json::array({"orders.enrich", "orders.audit"}));
  CAF_CHECK_EQUAL(report["failed"].size(), 0u);
  CAF_CHECK_EQUAL(set.active().size(), 2u);
  CAF_CHECK_EQUAL(set.dir(), dir.path());
  auto before = set.find("orders.audit");
  CAF_REQUIRE(before != nullptr);
  CAF_CHECK_EQUAL(before->file, dir.file("b.json"));
  // b.json breaks: its job keeps running in its last good version.
  other["priority"] = "urgent";
  dir.write("b.json", other.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["kept"], json::array({"orders.audit"}));
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0].value("file", ""), dir.file("b.json"));
  CAF_CHECK_EQUAL(report["failed"][0].value("job", ""), "orders.audit");
  CAF_CHECK(set.find("orders.audit") == before);
  CAF_CHECK_EQUAL(set.errors().count(dir.file("b.json")), 1u);
  // Still broken on the next reload: still kept.
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["kept"], json::array({"orders.audit"}));
  CAF_CHECK(set.find("orders.audit") == before);
  // Fixed: the error goes and the new version is active.
  other.erase("priority");
  dir.write("b.json", other.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK(set.errors().empty());
  CAF_CHECK(set.find("orders.audit") != before);
  // Removed: the job goes.
  std::filesystem::remove(dir.file("b.json"));
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["removed"], json::array({"orders.audit"}));
  CAF_CHECK(set.find("orders.audit") == nullptr);
  CAF_CHECK(set.find("orders.enrich") != nullptr);
}

CAF_TEST(a job id declared by two files fails the later one) {
  test::temp_dir dir;
  dir.write("a.json", good_job().dump());
  dir.write("b.json", good_job().dump());
  job_set set;
  auto report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["loaded"], json::array({"orders.enrich"}));
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0].value("file", ""), dir.file("b.json"));
  auto text = report["failed"][0].value("text", "");
  MESH_CHECK_MSG(text.find("job id 'orders.enrich' is already declared in "
                           + dir.file("a.json"))
                     != std::string::npos,
                 text);
  CAF_CHECK_EQUAL(set.find("orders.enrich")->file, dir.file("a.json"));
}

CAF_TEST(a job id comes from the document and may move between files) {
  test::temp_dir dir;
  dir.write("a.json", good_job().dump());
  job_set set;
  set.load(dir.path(), runtimes(), check_target);
  std::filesystem::remove(dir.file("a.json"));
  dir.write("renamed.json", good_job().dump());
  auto report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["loaded"], json::array({"orders.enrich"}));
  CAF_CHECK_EQUAL(report["removed"], json::array());
  CAF_CHECK_EQUAL(set.find("orders.enrich")->file, dir.file("renamed.json"));
}

CAF_TEST(a missing job folder is one failure and loads nothing) {
  job_set set;
  auto report = set.load("/nonexistent/mesh/jobs", runtimes(), check_target);
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0].value("file", ""),
                  "/nonexistent/mesh/jobs");
  CAF_CHECK(report["failed"][0].value("text", "").find("job folder")
            != std::string::npos);
  CAF_CHECK(set.active().empty());
  CAF_CHECK(set.load("", runtimes(), check_target)["failed"].empty());
}
