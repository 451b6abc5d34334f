#define CAF_SUITE tasks.job_set
#include "check.hpp"

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "task_fixtures.hpp"
#include "tasks/jobs/job.hpp"
#include "tasks/jobs/job_set.hpp"
#include "temp_dir.hpp"

// Jobs from files and folders: files that are not JSON or not objects, the
// runtime table, and job_set (reload keeping the last good version, an id
// declared twice, a job moving between files, a missing folder).

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

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

CAF_TEST(jobs that feed each other in a circle are refused naming it) {
  test::temp_dir dir;
  // enrich: orders.raw -> orders.enriched; back: orders.enriched ->
  // orders.raw; audit only reads: each event would go round forever.
  dir.write("a.json", good_job().dump());
  auto back = good_job();
  back["id"] = "orders.back";
  back["inputs"] = {"orders.enriched"};
  back["outputs"] = {"orders.other", "orders.raw"};
  dir.write("b.json", back.dump());
  auto audit = good_job();
  audit["id"] = "orders.audit";
  audit["inputs"] = {"orders.enriched"};
  audit.erase("outputs");
  dir.write("c.json", audit.dump());
  job_set set;
  auto report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["loaded"], json::array({"orders.audit"}));
  CAF_REQUIRE_EQUAL(report["failed"].size(), 2u);
  CAF_CHECK(set.find("orders.enrich") == nullptr);
  CAF_CHECK(set.find("orders.back") == nullptr);
  std::map<std::string, std::string> text_of;
  for (const auto& f : report["failed"])
    text_of[f.value("job", "")] = f.value("text", "");
  MESH_CHECK_MSG(text_of["orders.back"].find(
                   dir.file("b.json") + ": /outputs/1: dataset cycle: "
                   "orders.back -> orders.enrich -> orders.back")
                   != std::string::npos,
                 text_of["orders.back"]);
  MESH_CHECK_MSG(text_of["orders.enrich"].find(
                   "/outputs/0: dataset cycle: orders.enrich -> orders.back "
                   "-> orders.enrich (each event would create tasks forever)")
                   != std::string::npos,
                 text_of["orders.enrich"]);
  // The circle opened: both load.
  back["outputs"] = {"orders.other"};
  dir.write("b.json", back.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["failed"].size(), 0u);
  CAF_CHECK_EQUAL(set.active().size(), 3u);
}

CAF_TEST(two jobs writing one dataset are refused but the first by id) {
  test::temp_dir dir;
  // enrich and merge both write orders.enriched: their events would share
  // partition and cursor, and a reader would see only one of them.
  dir.write("a.json", good_job().dump());
  auto merge = good_job();
  merge["id"] = "orders.merge";
  merge["inputs"] = {"orders.other"};
  merge["outputs"] = {"orders.audit", "orders.enriched"};
  dir.write("b.json", merge.dump());
  job_set set;
  auto report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["loaded"], json::array({"orders.enrich"}));
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK(set.find("orders.merge") == nullptr);
  auto text = report["failed"][0].value("text", "");
  MESH_CHECK_MSG(text.find(dir.file("b.json")
                           + ": /outputs/1: dataset 'orders.enriched' is "
                             "also written by job 'orders.enrich'")
                   != std::string::npos,
                 text);
  // Its own output: both load.
  merge["outputs"] = {"orders.audit", "orders.merged"};
  dir.write("b.json", merge.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_CHECK_EQUAL(report["failed"].size(), 0u);
  CAF_CHECK_EQUAL(set.active().size(), 2u);
  // A running job keeps its dataset: a new file writing it (first by id)
  // is the one refused.
  auto early = good_job();
  early["id"] = "orders.a-early";
  early["inputs"] = {"orders.more"};
  early["outputs"] = {"orders.merged"};
  dir.write("c.json", early.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0].value("job", ""), "orders.a-early");
  CAF_CHECK(set.find("orders.merge") != nullptr);
  CAF_CHECK_EQUAL(report["removed"], json::array());
  // A refused job claims nothing: orders.b-late writes orders.more-out,
  // which only the refused orders.a-early also wanted.
  early["outputs"] = {"orders.more-out", "orders.merged"};
  dir.write("c.json", early.dump());
  auto late = good_job();
  late["id"] = "orders.b-late";
  late["inputs"] = {"orders.late-in"};
  late["outputs"] = {"orders.more-out"};
  dir.write("d.json", late.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0].value("job", ""), "orders.a-early");
  CAF_CHECK(set.find("orders.b-late") != nullptr);
  // A running job changed to write another running job's dataset is the
  // one refused (orders.enrich sorts first, orders.merge keeps it).
  auto enrich = good_job();
  enrich["outputs"] = {"orders.merged"};
  dir.write("a.json", enrich.dump());
  report = set.load(dir.path(), runtimes(), check_target);
  std::vector<std::string> refused;
  for (const auto& f : report["failed"])
    refused.push_back(f.value("job", ""));
  CAF_CHECK_EQUAL(refused, (std::vector<std::string>{"orders.a-early",
                                                     "orders.enrich"}));
  CAF_CHECK(set.find("orders.merge") != nullptr);
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
