#define CAF_SUITE tasks.store
#include "check.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "task_fixtures.hpp"
#include "protocol/json/safe_json.hpp"
#include "tasks/store/task_store.hpp"
#include "temp_dir.hpp"

// The SQLite task store when all goes well: round trips, replacing commits,
// listing, reopening, and the group-commit rate. Failures and crashes are
// in task_store_crash_test.cpp.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

CAF_TEST(tasks cursors and paused jobs round trip) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_task_store(path, sync_mode::full);
  CAF_CHECK_EQUAL(store->location(), path);
  CAF_CHECK(store->load_open().empty());
  auto batch = sample_batch();
  store->commit(batch);
  // Not done, oldest first.
  std::vector<task_record> open{batch.tasks[0], batch.tasks[3], batch.tasks[4],
                                batch.tasks[1]};
  CAF_CHECK_EQUAL(describe(store->load_open()), describe(open));
  auto cursors = store->load_cursors();
  CAF_CHECK_EQUAL(describe(cursors), describe(batch.cursors));
  CAF_CHECK(store->load_paused() == batch.paused);
  auto done = store->count_done();
  CAF_CHECK_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done["resize"], 1u);
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA journal_mode"), "wal");
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA user_version"), "1");
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT count(*) FROM tasks "
                                "WHERE payload IS NULL"),
                  "2");
}

CAF_TEST(a commit replaces tasks cursors and paused jobs) {
  test::temp_dir dir;
  auto store = open_sqlite_task_store(dir.file("tasks.db"), sync_mode::normal);
  auto batch = sample_batch();
  store->commit(batch);
  store_batch next;
  auto t = batch.tasks[1]; // resize:images::2, queued
  t.state = task_state::done;
  t.attempts = 1;
  next.tasks.push_back(t);
  next.deleted.push_back(batch.tasks[0].id);
  next.deleted.push_back("no:such:task:1"); // not an error
  next.cursors[{"resize", "images", ""}] = 9;
  next.paused["thumbs"] = false;
  next.paused["resize"] = true;
  next.paused["never-paused"] = false;
  store->commit(next);
  store_batch again; // pausing twice is not an error
  again.paused["resize"] = true;
  store->commit(again);
  store->commit(store_batch{}); // empty: nothing to do
  auto open = store->load_open();
  CAF_REQUIRE_EQUAL(open.size(), 2u);
  CAF_CHECK_EQUAL(open[0].id, batch.tasks[3].id);
  CAF_CHECK_EQUAL(open[1].id, batch.tasks[4].id);
  auto done = store->count_done(); // CAF_CHECK_EQUAL keeps references
  CAF_CHECK_EQUAL(done["resize"], 2u);
  auto cursors = store->load_cursors();
  CAF_CHECK_EQUAL(cursors.size(), 3u);
  CAF_CHECK_EQUAL((cursors[{"resize", "images", ""}]), 9);
  CAF_CHECK_EQUAL((cursors[{"resize", "images", "eu"}]), 1);
  auto paused = store->load_paused();
  CAF_CHECK_EQUAL(paused.size(), 1u);
  CAF_CHECK(paused.count("resize") == 1);
}

CAF_TEST(list filters by job and state oldest first up to a limit) {
  test::temp_dir dir;
  auto store = open_sqlite_task_store(dir.file("tasks.db"), sync_mode::off);
  store_batch b;
  // Created out of order; two share a time (then ordered by id).
  b.tasks.push_back(make_task("a", 1, task_state::queued, 50));
  b.tasks.push_back(make_task("a", 2, task_state::done, 10));
  b.tasks.push_back(make_task("a", 4, task_state::queued, 30));
  b.tasks.push_back(make_task("a", 3, task_state::queued, 30));
  b.tasks.push_back(make_task("a", 5, task_state::dead, 20));
  b.tasks.push_back(make_task("b", 1, task_state::queued, 1));
  store->commit(b);
  auto ids = [](const std::vector<task_record>& ts) {
    std::string result;
    for (const auto& t : ts)
      result += t.id + " ";
    return result;
  };
  CAF_CHECK_EQUAL(ids(store->list("a", std::nullopt, 100)),
                  "a:images::2 a:images::5 a:images::3 a:images::4 "
                  "a:images::1 ");
  CAF_CHECK_EQUAL(ids(store->list("a", task_state::queued, 100)),
                  "a:images::3 a:images::4 a:images::1 ");
  CAF_CHECK_EQUAL(ids(store->list("a", task_state::queued, 2)),
                  "a:images::3 a:images::4 ");
  CAF_CHECK_EQUAL(ids(store->list("a", std::nullopt, 1)), "a:images::2 ");
  CAF_CHECK_EQUAL(ids(store->list("a", task_state::leased, 100)), "");
  CAF_CHECK_EQUAL(ids(store->list("a", std::nullopt, 0)), "");
  CAF_CHECK_EQUAL(ids(store->list("c", std::nullopt, 100)), "");
  CAF_CHECK_EQUAL(
      ids(store->list("b", std::nullopt, std::numeric_limits<size_t>::max())),
      "b:images::1 ");
  // The full records come back from list too.
  auto dead = store->list("a", task_state::dead, 10);
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(describe(dead[0]), describe(b.tasks[4]));
}

CAF_TEST(a reopened store has the same data) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto batch = sample_batch();
  std::string open, cursors, paused, done;
  {
    auto store = open_sqlite_task_store(path, sync_mode::full);
    store->commit(batch);
    open = describe(store->load_open());
    done = json(store->count_done()).dump();
    cursors = std::to_string(store->load_cursors().size());
    paused = json(store->load_paused()).dump();
  }
  auto store = open_sqlite_task_store(path, sync_mode::full);
  CAF_CHECK_EQUAL(describe(store->load_open()), open);
  CAF_CHECK_EQUAL(json(store->count_done()).dump(), done);
  CAF_CHECK_EQUAL(describe(store->load_cursors()), describe(batch.cursors));
  CAF_CHECK_EQUAL(json(store->load_paused()).dump(), paused);
  CAF_CHECK_EQUAL(describe(store->list("resize", task_state::done, 5)),
                  describe(std::vector<task_record>{batch.tasks[2]}));
}

CAF_TEST(old done tasks are pruned oldest first and still counted) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  {
    auto store = open_sqlite_task_store(path, sync_mode::full);
    auto batch = sample_batch(); // resize:3 done at 310; others not done
    for (int64_t c = 10; c < 14; ++c) { // done at 1010, 1110, 1210, 1310
      batch.tasks.push_back(make_task("thumbs", c, task_state::done, 1000));
      batch.tasks.back().due_ms = 1010 + (c - 10) * 100;
    }
    store->commit(batch);
    // Before 1200, two at most: resize:3 (310) and thumbs:10 (1010).
    auto gone = store->prune_done(1200, 2);
    CAF_CHECK_EQUAL(json(gone).dump(), R"({"resize":1,"thumbs":1})");
    // Then the rest before 1200: thumbs:11 (1110) only.
    CAF_CHECK_EQUAL(json(store->prune_done(1200, 100)).dump(), R"({"thumbs":1})");
    CAF_CHECK(store->prune_done(1200, 100).empty());
    CAF_CHECK_EQUAL(json(store->count_done()).dump(),
                    R"({"resize":1,"thumbs":4})");
    CAF_CHECK_EQUAL(store->list("thumbs", task_state::done, 10).size(), 2u);
    // Nothing that is not done goes, however old.
    CAF_CHECK_EQUAL(store->load_open().size(), 4u);
  }
  // The counts survive a restart, and later prunes add to them.
  auto store = open_sqlite_task_store(path, sync_mode::full);
  CAF_CHECK_EQUAL(json(store->count_done()).dump(), R"({"resize":1,"thumbs":4})");
  CAF_CHECK_EQUAL(json(store->prune_done(2000, 100)).dump(), R"({"thumbs":2})");
  CAF_CHECK_EQUAL(json(store->count_done()).dump(), R"({"resize":1,"thumbs":4})");
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT count(*) FROM tasks WHERE state = 'done'"),
                  "0");
  // The prune finds its tasks through a partial index, not a table scan.
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT sql FROM sqlite_master "
                                "WHERE name = 'done_by_time'"),
                  "CREATE INDEX done_by_time ON tasks(due_ms) "
                  "WHERE state = 'done'");
}

CAF_TEST(a file with the older state check is upgraded and keeps its rows) {
  // The table as builds before the chained check wrote it.
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  CAF_REQUIRE_EQUAL(
    raw_sql(path,
            "CREATE TABLE tasks(id TEXT PRIMARY KEY, job TEXT NOT NULL, "
            "dataset TEXT NOT NULL, cursor INTEGER NOT NULL, "
            "\"partition\" TEXT NOT NULL, payload TEXT, state TEXT NOT NULL "
            "CHECK(state IN ('held', 'queued', 'leased', 'done', 'dead')), "
            "attempts INTEGER NOT NULL, created_ms INTEGER NOT NULL, "
            "due_ms INTEGER NOT NULL, history TEXT NOT NULL);"
            "CREATE INDEX tasks_by_job_state ON tasks(job, state);"
            "INSERT INTO tasks VALUES('resize:images::7', 'resize', 'images', "
            "7, '', '{\"n\":7}', 'queued', 0, 100, 100, '[]');"
            "PRAGMA user_version = 1;"),
    "");
  auto store = open_sqlite_task_store(path, sync_mode::full);
  auto open = store->load_open();
  CAF_REQUIRE_EQUAL(open.size(), 1u);
  CAF_CHECK_EQUAL(open[0].id, "resize:images::7");
  CAF_CHECK_EQUAL(open[0].event.payload, json({{"n", 7}}));
  CAF_CHECK_EQUAL(open[0].state, task_state::queued);
  store.reset();
  auto table = raw_sql(path, "SELECT sql FROM sqlite_master "
                             "WHERE type = 'table' AND name = 'tasks'");
  CAF_CHECK(table.find("state IN (") == std::string::npos);
  CAF_CHECK(table.find("state = 'dead'") != std::string::npos);
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT count(*) FROM sqlite_master "
                                "WHERE name = 'tasks_by_job_state'"),
                  "1");
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA user_version"), "1");
  // The check still holds.
  auto bad = raw_sql(path, "UPDATE tasks SET state = 'lost'");
  CAF_CHECK(bad.find("CHECK constraint failed") != std::string::npos);
}

CAF_TEST(rows that cannot be read are left out and named and the rest load) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  {
    auto store = open_sqlite_task_store(path, sync_mode::full);
    store_batch b;
    for (int64_t c = 1; c <= 6; ++c)
      b.tasks.push_back(make_task("resize", c, task_state::queued, 10 * c,
                                  json{{"n", c}}));
    // Larger than the bound the store is opened with below.
    b.tasks.push_back(make_task("resize", 7, task_state::queued, 70,
                                json{{"text", std::string(2000, 'x')}}));
    store->commit(b);
  }
  auto id = [](int64_t c) {
    return make_task("resize", c, task_state::queued, 0).id;
  };
  // A damaged payload, a damaged history, an impossible attempt count.
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE tasks SET payload = '{\"n\": ' "
                                  "WHERE id = '" + id(1) + "';"
                                  "UPDATE tasks SET history = 'not json' "
                                  "WHERE id = '" + id(2) + "';"
                                  "UPDATE tasks SET attempts = -3 "
                                  "WHERE id = '" + id(3) + "';"
                                  // Not UTF-8; nested past the bound (64).
                                  "UPDATE tasks SET payload = "
                                  "CAST(X'227878FF22' AS TEXT) "
                                  "WHERE id = '" + id(5) + "';"
                                  "UPDATE tasks SET payload = '"
                                  + std::string(100, '[') + std::string(100, ']')
                                  + "' WHERE id = '" + id(6) + "'"),
                    "");
  auto store = open_sqlite_task_store(path, sync_mode::full, 1024);
  std::vector<unreadable_task> unreadable;
  auto open = store->load_open(&unreadable);
  CAF_REQUIRE_EQUAL(open.size(), 1u);
  CAF_CHECK_EQUAL(open[0].id, id(4));
  CAF_CHECK_EQUAL(open[0].event.payload, json({{"n", 4}}));
  CAF_REQUIRE_EQUAL(unreadable.size(), 6u);
  std::map<std::string, std::string> why;
  for (const auto& u : unreadable) {
    CAF_CHECK_EQUAL(u.job, "resize");
    why[u.id] = u.why;
  }
  CAF_CHECK(why[id(1)].find("task " + id(1) + ": bad payload") != std::string::npos);
  CAF_CHECK(why[id(2)].find("bad history") != std::string::npos);
  CAF_CHECK(why[id(3)].find("attempts out of range: -3") != std::string::npos);
  CAF_CHECK(why[id(5)].find("bad payload") != std::string::npos);
  CAF_CHECK(why[id(5)].find("UTF-8") != std::string::npos);
  CAF_CHECK(why[id(6)].find("bad payload") != std::string::npos);
  CAF_CHECK(why[id(6)].find("64") != std::string::npos); // the bound
  CAF_CHECK(why[id(7)].find("payload of 2011 bytes is larger than 1024 bytes "
                            "(limits.max_payload_bytes)")
            != std::string::npos);
  // Every message is printable text, whatever the row held.
  for (const auto& [task, text] : why)
    CAF_CHECK_EQUAL(valid_utf8(text), text);
  CAF_CHECK(why[id(1)].find(path) != std::string::npos); // names the file
  // Without a list to name them in, and when listing the job: left out.
  CAF_CHECK_EQUAL(store->load_open().size(), 1u);
  CAF_CHECK_EQUAL(store->list("resize", std::nullopt, 100).size(), 1u);
  // Nothing is lost: the rows are still in the file, as they were.
  store.reset();
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT count(*) FROM tasks"), "7");
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT history FROM tasks WHERE id = '"
                                  + id(2) + "'"),
                  "not json");
}

CAF_TEST(a payload at the bound loads and a history past its own is set aside) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto payload = json{{"text", std::string(100, 'x')}};
  auto bound = payload.dump().size();
  {
    auto store = open_sqlite_task_store(path, sync_mode::full);
    store_batch b;
    for (int64_t c = 1; c <= 2; ++c)
      b.tasks.push_back(make_task("resize", c, task_state::queued, c, payload));
    store->commit(b);
  }
  auto second = make_task("resize", 2, task_state::queued, 0).id;
  // One byte past 64 MiB, counted before it is read (nor is it JSON).
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE tasks SET history = "
                                  "CAST(zeroblob(67108865) AS TEXT) "
                                  "WHERE id = '" + second + "'"),
                    "");
  auto store = open_sqlite_task_store(path, sync_mode::full, bound);
  std::vector<unreadable_task> unreadable;
  auto open = store->load_open(&unreadable);
  CAF_REQUIRE_EQUAL(open.size(), 1u); // exactly at the payload bound
  CAF_CHECK_EQUAL(open[0].event.payload, payload);
  CAF_REQUIRE_EQUAL(unreadable.size(), 1u);
  CAF_CHECK_EQUAL(unreadable[0].id, second);
  CAF_CHECK(unreadable[0].why.find("history of 67108865 bytes is larger than "
                                   "67108864 bytes")
            != std::string::npos);
}

CAF_TEST(a written task makes no temporary table) {
  // `state IN (...)` made SQLite build one per row written: the plan of the
  // store's own insert, read from the file, has no OpenEphemeral.
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  open_sqlite_task_store(path, sync_mode::off);
  sqlite3* db = nullptr;
  CAF_REQUIRE_EQUAL(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  CAF_REQUIRE_EQUAL(sqlite3_prepare_v2(db,
                                       "EXPLAIN INSERT OR REPLACE INTO tasks "
                                       "VALUES('a', 'j', 'd', 1, '', NULL, "
                                       "'queued', 0, 1, 1, '[]')",
                                       -1, &s, nullptr),
                    SQLITE_OK);
  std::string plan; // the opcodes, column 1 of EXPLAIN
  while (sqlite3_step(s) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 1))
            + std::string{" "};
  sqlite3_finalize(s);
  sqlite3_close(db);
  CAF_CHECK(plan.find("OpenWrite") != std::string::npos);
  CAF_CHECK(plan.find("OpenEphemeral") == std::string::npos);
}

CAF_TEST(group commit throughput) {
  // Not a pass/fail limit (machines differ): the rate is printed.
  test::temp_dir dir;
  auto store = open_sqlite_task_store(dir.file("tasks.db"), sync_mode::full);
  auto start = std::chrono::steady_clock::now();
  for (int64_t n = 0; n < 20; ++n) {
    store_batch b;
    for (int64_t i = 0; i < 500; ++i) {
      auto cursor = n * 500 + i;
      b.tasks.push_back(make_task("bench", cursor, task_state::queued, cursor,
                                  json{{"batch", n}, {"i", i}}));
    }
    b.cursors[{"bench", "images", ""}] = n;
    store->commit(b);
  }
  auto elapsed
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  auto count = store->list("bench", std::nullopt, 100000).size();
  CAF_CHECK_EQUAL(count, 10000u);
  CAF_MESSAGE("10000 tasks in batches of 500, synchronous=FULL: "
              << elapsed << " s, " << (count / elapsed) << " tasks/s");
}
