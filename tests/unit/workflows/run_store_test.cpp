#define CAF_SUITE workflows.store
#include "check.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "task_fixtures.hpp" // raw_sql, make_task
#include "config/node_config.hpp" // max_json_file_bytes
#include "tasks/store/task_store.hpp"
#include "telemetry/log.hpp"
#include "temp_dir.hpp"
#include "workflow_fixtures.hpp" // describe, make_run_record, full_record
#include "workflows/runs/run_store.hpp"
#include "workflows/runs/workflow_run.hpp"

// The SQLite store of workflow runs: filters, order, trimming, reopening,
// and sharing the file with the task store. Runs as JSON are in
// run_json_test.cpp.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

namespace {

// The store logs the rows it skips; quiet unless asked.
struct fixture {
  fixture() {
    const char* level = std::getenv("MESH_TEST_LOG");
    log::init(level != nullptr ? level : "off");
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template<class F>
std::string store_error_of(F f) {
  try {
    f();
  } catch (const store_error& e) {
    return e.what();
  }
  CAF_FAIL("no store_error was thrown");
  return {};
}

std::string ids(const std::vector<run_record>& runs) {
  std::string result;
  for (const auto& r : runs)
    result += r.id + " ";
  return result;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(run_store_tests, fixture)

CAF_TEST(save find and list newest first with filters and a limit) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_run_store(path, sync_mode::full);
  CAF_CHECK_EQUAL(store->location(), path);
  CAF_CHECK(!store->find("nope"));
  CAF_CHECK(store->list({}).empty());
  store->save(make_run_record("r1", "orders", run_status::success, 10, 20));
  store->save(make_run_record("r2", "orders", run_status::running, 30));
  store->save(make_run_record("r3", "billing", run_status::failed, 20, 25));
  store->save(make_run_record("r4", "orders", run_status::failed, 40, 45));
  store->save(make_run_record("r0", "orders", run_status::running, 30));
  auto full = full_record();
  store->save(full);
  auto found = store->find("run-1");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(describe(*found), describe(full));
  // Save replaces by id.
  auto r2 = make_run_record("r2", "orders", run_status::cancelled, 30, 35);
  r2.error = "cancelled by operator";
  store->save(r2);
  found = store->find("r2");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(describe(*found), describe(r2));
  auto q = [](std::string workflow, std::optional<run_status> status,
              size_t limit = 100) {
    run_query result;
    result.workflow = std::move(workflow);
    result.status = status;
    result.limit = limit;
    return result;
  };
  // run-1 started at 1000; r0 and r2 share a start (then by id, newest
  // first meaning the greater id first).
  CAF_CHECK_EQUAL(ids(store->list(q("", std::nullopt))),
                  "run-1 r4 r2 r0 r3 r1 ");
  CAF_CHECK_EQUAL(ids(store->list(q("orders", std::nullopt))),
                  "run-1 r4 r2 r0 r1 ");
  CAF_CHECK_EQUAL(ids(store->list(q("", run_status::failed))), "r4 r3 ");
  CAF_CHECK_EQUAL(ids(store->list(q("orders", run_status::failed))), "r4 ");
  CAF_CHECK_EQUAL(ids(store->list(q("orders", run_status::running))), "r0 ");
  CAF_CHECK_EQUAL(ids(store->list(q("", std::nullopt, 2))), "run-1 r4 ");
  CAF_CHECK_EQUAL(ids(store->list(q("", std::nullopt, 0))), "");
  CAF_CHECK_EQUAL(ids(store->list(q("nope", std::nullopt))), "");
  CAF_CHECK_EQUAL(ids(store->list(q("", run_status::timed_out))), "");
  auto most = std::numeric_limits<size_t>::max();
  CAF_CHECK_EQUAL(ids(store->list(q("", std::nullopt, most))),
                  "run-1 r4 r2 r0 r3 r1 ");
  auto listed = store->list(q("orders", run_status::partial));
  CAF_REQUIRE_EQUAL(listed.size(), 1u);
  CAF_CHECK_EQUAL(describe(listed[0]), describe(full));
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA journal_mode"), "wal");
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT status FROM workflow_runs "
                                "WHERE id = 'r2'"),
                  "cancelled");
}

CAF_TEST(load unfinished returns running runs oldest first) {
  test::temp_dir dir;
  auto store = open_sqlite_run_store(dir.file("tasks.db"), sync_mode::normal);
  CAF_CHECK(store->load_unfinished().empty());
  store->save(make_run_record("b", "w", run_status::running, 50));
  store->save(make_run_record("x", "w", run_status::success, 10, 11));
  store->save(make_run_record("a", "v", run_status::running, 50));
  store->save(make_run_record("c", "w", run_status::running, 5));
  store->save(make_run_record("y", "w", run_status::timed_out, 1, 2));
  CAF_CHECK_EQUAL(ids(store->load_unfinished()), "c a b ");
  store->save(make_run_record("a", "v", run_status::success, 50, 60));
  CAF_CHECK_EQUAL(ids(store->load_unfinished()), "c b ");
}

CAF_TEST(trim keeps the newest finished runs and every running one) {
  test::temp_dir dir;
  auto store = open_sqlite_run_store(dir.file("tasks.db"), sync_mode::off);
  // Finished in the order f1 f2 f3 f4 (f4 started first: a long run).
  store->save(make_run_record("f4", "w", run_status::success, 1, 400));
  store->save(make_run_record("f1", "w", run_status::failed, 10, 100));
  store->save(make_run_record("f2", "w", run_status::partial, 20, 200));
  store->save(make_run_record("f3", "w", run_status::cancelled, 30, 300));
  store->save(make_run_record("old-running", "w", run_status::running, 0));
  store->save(make_run_record("new-running", "w", run_status::running, 500));
  CAF_CHECK_EQUAL(store->trim(10), 0u);
  CAF_CHECK_EQUAL(store->trim(2), 2u);
  // f4 is kept: it finished last, though it started first.
  CAF_CHECK_EQUAL(ids(store->list({})), "new-running f3 f4 old-running ");
  CAF_CHECK_EQUAL(store->trim(0), 2u);
  CAF_CHECK_EQUAL(store->trim(0), 0u);
  CAF_CHECK_EQUAL(ids(store->load_unfinished()), "old-running new-running ");
}

CAF_TEST(a reopened store finds everything again) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto full = full_record();
  auto other = make_run_record("r2", "w", run_status::running, 3);
  {
    auto store = open_sqlite_run_store(path, sync_mode::full);
    store->save(full);
    store->save(other);
  }
  auto store = open_sqlite_run_store(path, sync_mode::full);
  auto found = store->find("run-1");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(describe(*found), describe(full));
  auto open = store->load_unfinished();
  CAF_REQUIRE_EQUAL(open.size(), 1u);
  CAF_CHECK_EQUAL(describe(open[0]), describe(other));
  CAF_CHECK_EQUAL(ids(store->list({})), "run-1 r2 ");
}

CAF_TEST(the run store shares its file with the task store) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  // Run store first on a new file: the task store then still takes it as
  // its own (schema version 0 -> 1); both open at once, writes interleaved.
  auto runs = open_sqlite_run_store(path, sync_mode::full);
  runs->save(full_record());
  auto tasks = open_sqlite_task_store(path, sync_mode::full);
  store_batch batch;
  batch.tasks.push_back(make_task("resize", 1, task_state::queued, 100));
  tasks->commit(batch);
  runs->save(make_run_record("r2", "w", run_status::running, 3));
  batch.tasks.push_back(make_task("resize", 2, task_state::queued, 200));
  tasks->commit(batch);
  CAF_CHECK_EQUAL(tasks->load_open().size(), 2u);
  CAF_CHECK_EQUAL(runs->list({}).size(), 2u);
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA user_version"), "1");
  tasks.reset();
  runs.reset();
  // Reopened the other way round, as on a node: nothing created twice.
  tasks = open_sqlite_task_store(path, sync_mode::normal);
  runs = open_sqlite_run_store(path, sync_mode::normal);
  CAF_CHECK_EQUAL(tasks->load_open().size(), 2u);
  CAF_CHECK_EQUAL(ids(runs->load_unfinished()), "r2 ");
  auto found = runs->find("run-1");
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(describe(*found), describe(full_record()));
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA user_version"), "1");
}

CAF_TEST(a damaged row is skipped in lists and named by find) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_run_store(path, sync_mode::full);
  store->save(make_run_record("good", "w", run_status::running, 1));
  store->save(make_run_record("bad", "w", run_status::running, 2));
  store->save(make_run_record("worse", "w", run_status::running, 3));
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE workflow_runs SET doc = '{\"id\":' "
                                  "WHERE id = 'bad'"),
                    "");
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE workflow_runs SET doc = "
                                  "'{\"id\": \"worse\"}' WHERE id = 'worse'"),
                    "");
  CAF_CHECK_EQUAL(ids(store->load_unfinished()), "good ");
  CAF_CHECK_EQUAL(ids(store->list({})), "good ");
  auto msg = store_error_of([&] { store->find("bad"); });
  CAF_CHECK(contains(msg, "run store " + path + ": run bad: "));
  msg = store_error_of([&] { store->find("worse"); });
  CAF_CHECK(contains(msg, "run worse: run document: workflow: missing"));
  // The statements were reset: the store keeps working.
  CAF_CHECK(store->find("good").has_value());
}

CAF_TEST(a row larger or deeper than a run can be is set aside unread) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  constexpr size_t max_payload = 1024;
  auto store = open_sqlite_run_store(path, sync_mode::full, max_payload);
  for (auto id : {"good", "at-bound", "big", "deep", "huge-definition",
                  "latin-1"})
    store->save(make_run_record(id, "w", run_status::running, 1));
  auto sql = [&](const std::string& text) {
    auto out = raw_sql(path, text);
    CAF_REQUIRE(out.rfind("error", 0) != 0);
    return out;
  };
  // Padded with an extra field (ignored when read) to exactly the bound of
  // a two-step run, and to one byte past it.
  auto def_bytes = std::stoul(
    sql("SELECT length(definition) FROM workflow_runs WHERE id = 'good'"));
  auto bound = max_run_bytes(2, def_bytes, max_payload);
  sql("UPDATE workflow_runs SET doc = json_insert(doc, '$.pad', '') "
      "WHERE id IN ('at-bound', 'big')");
  // Each row's own length: the id is in its document twice.
  auto pad = [&](const std::string& id, size_t to) {
    auto bytes = std::stoul(
      sql("SELECT length(doc) FROM workflow_runs WHERE id = '" + id + "'"));
    CAF_REQUIRE_LESS(bytes, to);
    auto n = std::to_string(to - bytes);
    sql("UPDATE workflow_runs SET doc = json_set(doc, '$.pad', "
        "substr(replace(hex(zeroblob(" + n + ")), '0', 'x'), 1, " + n
        + ")) WHERE id = '" + id + "'");
  };
  pad("at-bound", bound);
  pad("big", bound + 1);
  CAF_CHECK_EQUAL(
    sql("SELECT length(doc) FROM workflow_runs WHERE id = 'at-bound'"),
    std::to_string(bound));
  CAF_CHECK_EQUAL(
    sql("SELECT length(doc) FROM workflow_runs WHERE id = 'big'"),
    std::to_string(bound + 1));
  // Nested far past what a run holds (twice a payload's depth).
  std::string deep = "{\"id\": \"deep\", \"x\": ";
  for (int i = 0; i < 300; ++i)
    deep += "[";
  deep += std::string(300, ']') + "}";
  sql("UPDATE workflow_runs SET doc = '" + deep + "' WHERE id = 'deep'");
  // A definition past the bound of a workflow file.
  sql("UPDATE workflow_runs SET definition = zeroblob("
      + std::to_string(max_json_file_bytes + 1)
      + ") WHERE id = 'huge-definition'");
  // A definition that is not UTF-8 ({"name": "\xff"}).
  sql("UPDATE workflow_runs SET definition = "
      "CAST(X'7B226E616D65223A2022FF227D' AS TEXT) WHERE id = 'latin-1'");
  CAF_CHECK_EQUAL(ids(store->load_unfinished()), "at-bound good ");
  CAF_CHECK_EQUAL(ids(store->list({})), "good at-bound ");
  auto msg = store_error_of([&] { store->find("big"); });
  CAF_CHECK(contains(msg, "run big: document of " + std::to_string(bound + 1)
                            + " bytes is larger than " + std::to_string(bound)
                            + " bytes (what a run of its workflow can hold)"));
  msg = store_error_of([&] { store->find("deep"); });
  CAF_CHECK(contains(msg, "run deep: bad document: "));
  CAF_CHECK(contains(msg, "nest"));
  msg = store_error_of([&] { store->find("huge-definition"); });
  CAF_CHECK(contains(msg, "run huge-definition: definition of 16777217 bytes "
                          "is larger than 16777216 bytes"));
  msg = store_error_of([&] { store->find("latin-1"); });
  CAF_CHECK(contains(msg, "run latin-1: bad definition: "));
  // Every row is still in the file; a store without a bound (offline
  // tools) reads the big one.
  CAF_CHECK_EQUAL(sql("SELECT count(*) FROM workflow_runs"), "6");
  auto offline = open_sqlite_run_store(path, sync_mode::full);
  CAF_CHECK(offline->find("big").has_value());
}

CAF_TEST(a path that cannot be opened is named) {
  test::temp_dir dir;
  auto missing = dir.file("no/such/folder/tasks.db");
  auto msg = store_error_of(
      [&] { open_sqlite_run_store(missing, sync_mode::full); });
  CAF_CHECK(contains(msg, "run store " + missing + ": open: "));
  auto path = dir.write("tasks.db", std::string(4096, 'x') + "not sqlite\n");
  msg = store_error_of([&] { open_sqlite_run_store(path, sync_mode::full); });
  CAF_CHECK(contains(msg, path));
  CAF_CHECK(contains(msg, "not a database"));
}

CAF_TEST_FIXTURE_SCOPE_END()
