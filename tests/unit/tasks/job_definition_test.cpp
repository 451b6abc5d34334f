#define CAF_SUITE tasks.jobs
#include "check.hpp"

#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "task_fixtures.hpp"
#include "tasks/jobs/job.hpp"

// One job document: defaults, every field, the runtime's limits, and each
// rule a job can break (schema, runtime, target, dataset names, feeding
// itself, retry bounds). Job files and folders are in job_set_test.cpp.

using namespace mesh;
using namespace mesh::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The document checked as if read from job.json.
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
  CAF_CHECK(has(problems(doc), "/colour", "unknown key 'colour'"));
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
                "unknown key 'delay' (allowed: initial_ms, jitter, "
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
