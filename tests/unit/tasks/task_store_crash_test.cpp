#define CAF_SUITE tasks.store_crash
#include "check.hpp"

#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "task_fixtures.hpp"
#include "tasks/store/task_store.hpp"
#include "temp_dir.hpp"

// The SQLite task store when things break: a batch failing midway, files
// that are not (our) databases, bad JSON in a row, and a process killed
// while committing.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

namespace {

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

// read(2) may return part of a record: loop until all n bytes, or EOF.
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

CAF_TEST(bad JSON in the file sets that task aside naming it) {
  test::temp_dir dir;
  auto path = dir.file("tasks.db");
  auto store = open_sqlite_task_store(path, sync_mode::full);
  store->commit(sample_batch());
  auto id = std::string{"resize:images:eu:1"};
  // The one message that names the row set aside by load_open().
  auto why = [&] {
    std::vector<unreadable_task> unreadable;
    auto open = store->load_open(&unreadable);
    CAF_CHECK_EQUAL(open.size(), 3u); // the others load
    CAF_REQUIRE_EQUAL(unreadable.size(), 1u);
    CAF_CHECK_EQUAL(unreadable[0].id, id);
    return unreadable[0].why;
  };
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE tasks SET payload = '{\"a\":' "
                                  "WHERE id = '"
                                      + id + "'"),
                    "");
  auto msg = why();
  CAF_CHECK(contains(msg, path));
  CAF_CHECK(contains(msg, "task " + id));
  CAF_CHECK(contains(msg, "payload"));
  raw_sql(path, "UPDATE tasks SET payload = NULL, history = '[{\"attempt\": "
                "1}]' WHERE id = '"
                    + id + "'");
  msg = why();
  CAF_CHECK(contains(msg, "task " + id));
  CAF_CHECK(contains(msg, "history"));
  CAF_CHECK_EQUAL(store->list("resize", std::nullopt, 10).size(), 2u);
  raw_sql(path, "UPDATE tasks SET history = '{}' WHERE id = '" + id + "'");
  CAF_CHECK(contains(why(), "task " + id));
  // The statement was reset: the row loads again once it is mended.
  raw_sql(path, "UPDATE tasks SET history = '[]' WHERE id = '" + id + "'");
  std::vector<unreadable_task> none;
  CAF_CHECK_EQUAL(store->load_open(&none).size(), 4u);
  CAF_CHECK(none.empty());
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
