#define CAF_SUITE tasks.store
#include "check.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include <csignal>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tasks/task_store.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

// Every field of a task, so that a round trip is one comparison.
std::string describe(const task_record& t) {
  auto history = json::array();
  for (const auto& r : t.history)
    history.push_back({r.attempt, r.status, r.error, r.node, r.at_ms});
  return json{{"id", t.id},
              {"job", t.job},
              {"dataset", t.event.dataset},
              {"cursor", t.event.cursor},
              {"partition", t.event.partition},
              {"payload", t.event.payload},
              {"payload_is_null", t.event.payload.is_null()},
              {"state", to_string(t.state)},
              {"attempts", t.attempts},
              {"created_ms", t.created_ms},
              {"due_ms", t.due_ms},
              {"history", history}}
      .dump();
}

std::string describe(const std::vector<task_record>& ts) {
  std::string result;
  for (const auto& t : ts)
    result += describe(t) + "\n";
  return result;
}

// cursor_key has no ==, so maps of cursors are compared as text.
std::string describe(const std::map<cursor_key, int64_t>& cursors) {
  std::string result;
  for (const auto& [k, v] : cursors)
    result += k.job + "/" + k.dataset + "/" + k.partition + "="
              + std::to_string(v) + " ";
  return result;
}

task_record make_task(const std::string& job, int64_t cursor, task_state state,
                      int64_t created_ms, json payload = nullptr,
                      std::string partition = "") {
  task_record t;
  t.job = job;
  t.event = {"images", cursor, std::move(partition), std::move(payload)};
  t.id = make_task_id(job, t.event);
  t.state = state;
  t.created_ms = created_ms;
  t.due_ms = created_ms + 10;
  return t;
}

// The message of the store_error that `f` throws.
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

bool contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos)
    return true;
  CAF_MESSAGE("'" << part << "' is not in: " << text);
  return false;
}

// Runs `sql` on the file through a separate connection (tampering, checks).
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    char* err = nullptr;
    auto keep = [](void* out, int, char** values, char**) {
      if (values[0] != nullptr)
        *static_cast<std::string*>(out) += values[0];
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), keep, &result, &err) != SQLITE_OK) {
      result = std::string{"error: "} + (err ? err : "?");
      sqlite3_free(err);
    }
  }
  sqlite3_close(db);
  return result;
}

// The sample data of the round-trip tests: every field set, a null
// payload, an empty partition, a history, a done task.
store_batch sample_batch() {
  store_batch b;
  auto dead = make_task("resize", 1, task_state::dead, 100,
                        json{{"file", "a.png"},
                             {"sizes", {16, 32, 9007199254740993}},
                             {"note", "caf\u00e9 \"quoted\""},
                             {"ok", true}},
                        "eu");
  dead.attempts = 3;
  dead.due_ms = 4242;
  dead.history = {{1, "handler_error", "boom", "node-a", 1001},
                  {2, "lease_expired", "", "", 1002},
                  {3, "handler_error", "line\nbreak \u00e9", "node-c", 1003}};
  b.tasks.push_back(dead);
  b.tasks.push_back(make_task("resize", 2, task_state::queued, 200));
  b.tasks.push_back(make_task("resize", 3, task_state::done, 300));
  auto leased = make_task("thumbs", 1, task_state::leased, 150, json::object());
  leased.attempts = 1;
  b.tasks.push_back(leased);
  b.tasks.push_back(make_task("thumbs", 2, task_state::held, 160, json(7)));
  b.cursors[{"resize", "images", ""}] = 3;
  b.cursors[{"resize", "images", "eu"}] = 1;
  b.cursors[{"thumbs", "images", ""}] = 2;
  b.paused["thumbs"] = true;
  return b;
}

// Batch n of the crash test: 100 tasks and the cursor n.
store_batch crash_batch(uint64_t n) {
  store_batch b;
  for (int64_t i = 0; i < 100; ++i) {
    auto cursor = static_cast<int64_t>(n) * 100 + i;
    b.tasks.push_back(make_task("crash", cursor, task_state::queued, cursor,
                                json{{"batch", n}, {"i", i}}));
  }
  b.cursors[{"crash", "images", ""}] = static_cast<int64_t>(n);
  return b;
}

bool read_full(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    auto got = ::read(fd, p, n);
    if (got <= 0)
      return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

} // namespace

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

CAF_TEST(a batch that fails midway leaves nothing behind) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_task_store(path, sync_mode::full);
  auto batch = sample_batch();
  store->commit(batch);
  auto before = describe(store->list("resize", std::nullopt, 100))
                + describe(store->list("thumbs", std::nullopt, 100));
  store_batch bad;
  auto changed = batch.tasks[1];
  changed.state = task_state::leased;
  bad.tasks.push_back(changed);
  bad.tasks.push_back(make_task("new", 1, task_state::queued, 1));
  auto invalid = make_task("new", 2, task_state::queued, 2);
  invalid.state = static_cast<task_state>(99); // fails the CHECK constraint
  bad.tasks.push_back(invalid);
  bad.cursors[{"resize", "images", ""}] = 100;
  bad.deleted.push_back(batch.tasks[0].id);
  bad.paused["thumbs"] = false;
  auto msg = store_error_of([&] { store->commit(bad); });
  CAF_CHECK(contains(msg, "task store " + path + ": "));
  CAF_CHECK(contains(msg, "write task new:images::2"));
  CAF_CHECK(contains(msg, "CHECK constraint failed"));
  auto after = describe(store->list("resize", std::nullopt, 100))
               + describe(store->list("thumbs", std::nullopt, 100));
  CAF_CHECK_EQUAL(after, before);
  CAF_CHECK(store->list("new", std::nullopt, 100).empty());
  CAF_CHECK_EQUAL(describe(store->load_cursors()), describe(batch.cursors));
  CAF_CHECK(store->load_paused() == batch.paused);
  // The store still works, and another connection sees no transaction left
  // open (it could not write otherwise).
  store_batch good;
  good.tasks.push_back(make_task("new", 3, task_state::queued, 3));
  store->commit(good);
  CAF_CHECK_EQUAL(store->list("new", std::nullopt, 100).size(), 1u);
  CAF_CHECK_EQUAL(raw_sql(path, "DELETE FROM paused_jobs WHERE job = 'x'"), "");
}

CAF_TEST(a file that is not a database is refused naming its path) {
  test::temp_dir dir;
  auto path = dir.write("tasks.db", std::string(4096, 'x') + "not sqlite\n");
  auto msg
      = store_error_of([&] { open_sqlite_task_store(path, sync_mode::full); });
  CAF_CHECK(contains(msg, path));
  CAF_CHECK(contains(msg, "not a database"));
  auto missing = dir.file("no/such/folder/tasks.db");
  msg = store_error_of(
      [&] { open_sqlite_task_store(missing, sync_mode::full); });
  CAF_CHECK(contains(msg, missing));
}

CAF_TEST(a newer schema version is refused) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  open_sqlite_task_store(path, sync_mode::full);
  CAF_REQUIRE_EQUAL(raw_sql(path, "PRAGMA user_version = 2"), "");
  auto msg
      = store_error_of([&] { open_sqlite_task_store(path, sync_mode::full); });
  CAF_CHECK(contains(msg, path));
  CAF_CHECK(contains(msg, "schema version 2"));
}

CAF_TEST(bad JSON in the file gives a store error naming the task) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_task_store(path, sync_mode::full);
  store->commit(sample_batch());
  auto id = std::string{"resize:images:eu:1"};
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE tasks SET payload = '{\"a\":' "
                                  "WHERE id = '"
                                      + id + "'"),
                    "");
  auto msg = store_error_of([&] { store->load_open(); });
  CAF_CHECK(contains(msg, path));
  CAF_CHECK(contains(msg, "task " + id));
  CAF_CHECK(contains(msg, "payload"));
  raw_sql(path, "UPDATE tasks SET payload = NULL, history = '[{\"attempt\": "
                "1}]' WHERE id = '"
                    + id + "'");
  msg = store_error_of([&] { store->list("resize", std::nullopt, 10); });
  CAF_CHECK(contains(msg, "task " + id));
  CAF_CHECK(contains(msg, "history"));
  raw_sql(path, "UPDATE tasks SET history = '{}' WHERE id = '" + id + "'");
  msg = store_error_of([&] { store->load_open(); });
  CAF_CHECK(contains(msg, "task " + id));
  // The statement was reset: the store keeps working once the row is fixed.
  raw_sql(path, "UPDATE tasks SET history = '[]' WHERE id = '" + id + "'");
  CAF_CHECK_EQUAL(store->load_open().size(), 4u);
}

CAF_TEST(a store killed while committing keeps every confirmed batch) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  int fds[2];
  CAF_REQUIRE_EQUAL(::pipe(fds), 0);
  auto child = ::fork();
  if (child == 0) {
    // The child commits until it is killed; it reports each commit only
    // once commit() has returned, i.e. once the batch is durable.
    ::close(fds[0]);
    try {
      auto store = open_sqlite_task_store(path, sync_mode::full);
      for (uint64_t n = 0;; ++n) {
        store->commit(crash_batch(n));
        uint64_t committed = n + 1;
        if (::write(fds[1], &committed, sizeof committed)
            != static_cast<ssize_t>(sizeof committed))
          ::_exit(2);
      }
    } catch (...) {
      ::_exit(1);
    }
  }
  CAF_REQUIRE(child > 0); // only here: the child never gets this far
  ::close(fds[1]);
  uint64_t confirmed = 0;
  uint64_t n = 0;
  while (confirmed < 20 && read_full(fds[0], &n, sizeof n))
    confirmed = n;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  CAF_REQUIRE_GREATER_OR_EQUAL(confirmed, 20u); // else the child failed
  CAF_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto store = open_sqlite_task_store(path, sync_mode::full);
  CAF_CHECK_EQUAL(raw_sql(path, "PRAGMA integrity_check"), "ok");
  auto tasks
      = store->list("crash", std::nullopt, std::numeric_limits<size_t>::max());
  CAF_MESSAGE(confirmed << " batches confirmed, " << tasks.size()
                        << " tasks found");
  CAF_CHECK_EQUAL(tasks.size() % 100, 0u);
  CAF_REQUIRE_GREATER_OR_EQUAL(tasks.size(), confirmed * 100);
  std::set<int64_t> cursors;
  for (const auto& t : tasks)
    cursors.insert(t.event.cursor);
  // Exactly the batches 0..k-1, each complete, with the cursor of the last.
  auto batches = static_cast<int64_t>(tasks.size() / 100);
  CAF_CHECK_EQUAL(cursors.size(), tasks.size());
  CAF_CHECK_EQUAL(*cursors.begin(), 0);
  CAF_CHECK_EQUAL(*cursors.rbegin(), batches * 100 - 1);
  auto last = store->load_cursors();
  CAF_CHECK_EQUAL((last[{"crash", "images", ""}]), batches - 1);
  CAF_CHECK_EQUAL(describe(tasks[42]), describe(crash_batch(0).tasks[42]));
  store->commit(crash_batch(static_cast<uint64_t>(batches)));
  CAF_CHECK_EQUAL(store->list("crash", std::nullopt, 1000000).size(),
                  tasks.size() + 100);
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
