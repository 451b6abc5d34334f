// The embedded task store: one SQLite file per node, WAL journal (readers
// never block the writer, and a commit is one append + fsync of the log),
// every statement prepared once and reused for the store's lifetime.

#include "tasks/store/sqlite_util.hpp"
#include "tasks/store/task_row.hpp"
#include "tasks/store/task_schema.hpp"
#include "tasks/task_json.hpp"
#include "tasks/store/task_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <utility>

namespace mesh {

namespace {

#define MESH_TASK_COLUMNS                                                      \
  "SELECT id, job, dataset, cursor, \"partition\", payload, state, "           \
  "attempts, created_ms, due_ms, history FROM tasks "

using namespace sqlite; // handles, resetter, column_text

class sqlite_task_store final : public task_store {
public:
  sqlite_task_store(std::string path, sync_mode sync, size_t max_payload_bytes)
    : path_(std::move(path)), max_payload_bytes_(max_payload_bytes) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                 | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    db_.reset(raw); // closed by db_closer even when opening failed
    if (rc != SQLITE_OK)
      fail("open");
    check(sqlite3_busy_timeout(db(), 5000), "set busy timeout");
    // The first read of the file: a file that is not a database fails
    // here, and a newer schema is refused before anything is changed.
    auto version = sqlite3_column_int64(
        first_row("PRAGMA user_version", "read schema version").get(), 0);
    if (version > task_schema::version)
      throw store_error(prefix() + "schema version " + std::to_string(version)
                        + " is newer than this build supports ("
                        + std::to_string(task_schema::version) + ")");
    auto mode = column_text(
        first_row("PRAGMA journal_mode=WAL", "set journal mode").get(), 0);
    if (mode != "wal" && mode != "memory")
      throw store_error(prefix() + "set journal mode: got '" + mode
                        + "' instead of 'wal'");
    exec(sync == sync_mode::full     ? "PRAGMA synchronous=FULL"
         : sync == sync_mode::normal ? "PRAGMA synchronous=NORMAL"
                                     : "PRAGMA synchronous=OFF",
         "set synchronous");
    create_schema(version);
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    rollback_ = prepare("ROLLBACK");
    put_task_ = prepare(
        "INSERT OR REPLACE INTO tasks(id, job, dataset, cursor, \"partition\", "
        "payload, state, attempts, created_ms, due_ms, history) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    put_cursor_ = prepare(
        "INSERT INTO cursors(job, dataset, \"partition\", cursor) "
        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(job, dataset, \"partition\") "
        "DO UPDATE SET cursor = excluded.cursor");
    delete_task_ = prepare("DELETE FROM tasks WHERE id = ?1");
    pause_ = prepare("INSERT OR IGNORE INTO paused_jobs(job) VALUES(?1)");
    resume_ = prepare("DELETE FROM paused_jobs WHERE job = ?1");
    load_open_ = prepare(MESH_TASK_COLUMNS
                         "WHERE state != 'done' ORDER BY created_ms, id");
    load_cursors_
        = prepare("SELECT job, dataset, \"partition\", cursor FROM cursors");
    load_paused_ = prepare("SELECT job FROM paused_jobs");
    count_done_ = prepare(task_schema::count_done_sql);
    prunable_ = prepare(task_schema::prunable_sql);
    count_pruned_ = prepare(task_schema::count_pruned_sql);
    list_all_ = prepare(MESH_TASK_COLUMNS
                        "WHERE job = ?1 ORDER BY created_ms, id LIMIT ?2");
    list_state_ = prepare(
        MESH_TASK_COLUMNS
        "WHERE job = ?1 AND state = ?3 ORDER BY created_ms, id LIMIT ?2");
  }

  void commit(const store_batch& batch) override {
    if (batch.empty())
      return; // no transaction, no fsync
    in_transaction([&] {
      for (const auto& t : batch.tasks)
        put_task(t);
      for (const auto& [key, cursor] : batch.cursors) {
        auto* s = put_cursor_.get();
        bind(s, 1, key.job);
        bind(s, 2, key.dataset);
        bind(s, 3, key.partition);
        bind(s, 4, cursor);
        step(s, "set cursor of job", key.job);
      }
      for (const auto& id : batch.deleted) {
        bind(delete_task_.get(), 1, id);
        step(delete_task_.get(), "delete task", id);
      }
      for (const auto& [job, paused] : batch.paused) {
        auto* s = paused ? pause_.get() : resume_.get();
        bind(s, 1, job);
        step(s, paused ? "pause job" : "resume job", job);
      }
    });
  }

  std::map<std::string, uint64_t> prune_done(int64_t before_ms,
                                             size_t limit) override {
    std::map<std::string, uint64_t> result;
    in_transaction([&] {
      std::vector<std::string> ids;
      auto* s = prunable_.get();
      bind(s, 1, before_ms);
      bind(s, 2, clamp_limit(limit));
      each_row(s, "find done tasks to prune", [&](sqlite3_stmt* row) {
        ids.push_back(column_text(row, 0));
        ++result[column_text(row, 1)];
      });
      for (const auto& id : ids) {
        bind(delete_task_.get(), 1, id);
        step(delete_task_.get(), "prune task", id);
      }
      for (const auto& [job, n] : result) {
        bind(count_pruned_.get(), 1, job);
        bind(count_pruned_.get(), 2, static_cast<int64_t>(n));
        step(count_pruned_.get(), "count pruned tasks of job", job);
      }
    });
    return result;
  }

  using task_store::load_open;

  std::vector<task_record>
  load_open(std::vector<unreadable_task>* unreadable) override {
    return read_tasks(load_open_.get(), "load open tasks", {}, unreadable);
  }

  std::map<cursor_key, int64_t> load_cursors() override {
    std::map<cursor_key, int64_t> result;
    each_row(load_cursors_.get(), "load cursors", [&](sqlite3_stmt* s) {
      result.emplace(
          cursor_key{column_text(s, 0), column_text(s, 1), column_text(s, 2)},
          sqlite3_column_int64(s, 3));
    });
    return result;
  }

  std::map<std::string, bool> load_paused() override {
    std::map<std::string, bool> result;
    each_row(load_paused_.get(), "load paused jobs",
             [&](sqlite3_stmt* s) { result.emplace(column_text(s, 0), true); });
    return result;
  }

  std::map<std::string, uint64_t> count_done() override {
    std::map<std::string, uint64_t> result;
    each_row(count_done_.get(), "count done tasks", [&](sqlite3_stmt* s) {
      result.emplace(column_text(s, 0),
                     static_cast<uint64_t>(sqlite3_column_int64(s, 1)));
    });
    return result;
  }

  std::vector<task_record>
  list(const std::string& job, std::optional<task_state> state, size_t limit,
       std::vector<unreadable_task>* unreadable) override {
    auto* s = state ? list_state_.get() : list_all_.get();
    bind(s, 1, job);
    bind(s, 2, clamp_limit(limit));
    if (state)
      bind(s, 3, to_string(*state));
    return read_tasks(s, "list tasks of job", job, unreadable);
  }

  std::string location() const override {
    return path_;
  }

private:
  sqlite3* db() const {
    return db_.get();
  }

  std::string prefix() const {
    return "task store " + path_ + ": ";
  }

  [[noreturn]] void fail(const std::string& op) const {
    throw store_error(prefix() + op + ": " + sqlite3_errmsg(db()));
  }

  // `op` and `subject` are only joined on failure: no string is built per
  // row on the hot paths.
  [[noreturn]] void fail(const char* op, const std::string& subject) const {
    fail(subject.empty() ? std::string{op} : op + (" " + subject));
  }

  void check(int rc, const char* op) const {
    if (rc != SQLITE_OK)
      fail(op);
  }

  // `f` within BEGIN IMMEDIATE ... COMMIT: all of it or none of it.
  template <class F>
  void in_transaction(F f) {
    try {
      step(begin_.get(), "begin transaction");
      f();
      step(commit_.get(), "commit");
    } catch (...) {
      // Some errors (disk full, I/O) already rolled back; only roll back
      // a transaction that is still open.
      if (sqlite3_get_autocommit(db()) == 0) {
        resetter r{rollback_.get()};
        sqlite3_step(rollback_.get());
      }
      throw;
    }
  }

  void exec(const char* sql, const char* op) {
    check(sqlite3_exec(db(), sql, nullptr, nullptr, nullptr), op);
  }

  stmt_ptr prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw,
                                nullptr);
    stmt_ptr result{raw};
    if (rc != SQLITE_OK)
      fail(std::string{"prepare '"} + sql + "'");
    return result;
  }

  // A one-off statement, stepped to its first row.
  stmt_ptr first_row(const char* sql, const std::string& op) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db(), sql, -1, &raw, nullptr);
    stmt_ptr s{raw};
    if (rc != SQLITE_OK || sqlite3_step(s.get()) != SQLITE_ROW)
      fail(op);
    return s;
  }

  bool has_old_state_check() {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db(),
                           "SELECT sql FROM sqlite_master "
                           "WHERE type = 'table' AND name = 'tasks'",
                           -1, &raw, nullptr)
        != SQLITE_OK)
      fail("read schema");
    stmt_ptr s{raw};
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE)
      return false; // a new file
    if (rc != SQLITE_ROW)
      fail("read schema");
    return column_text(s.get(), 0).find("state IN (") != std::string::npos;
  }

  void create_schema(int64_t version) {
    exec("BEGIN IMMEDIATE", "create schema");
    try {
      if (has_old_state_check())
        exec(task_schema::upgrade_check_sql, "upgrade the state check");
      exec(task_schema::create_sql, "create schema");
      if (version < task_schema::version) // a new file (the version is 1)
        exec("PRAGMA user_version = 1", "set schema version");
      exec("COMMIT", "create schema");
    } catch (...) {
      if (sqlite3_get_autocommit(db()) == 0)
        sqlite3_exec(db(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void bind(sqlite3_stmt* s, int i, const std::string& x) {
    // SQLITE_STATIC: `x` outlives the step that follows.
    check(sqlite3_bind_text64(s, i, x.data(), x.size(), SQLITE_STATIC,
                              SQLITE_UTF8),
          "bind parameter");
  }

  // For to_string()'s names, which are static.
  void bind(sqlite3_stmt* s, int i, const char* x) {
    check(sqlite3_bind_text(s, i, x, -1, SQLITE_STATIC), "bind parameter");
  }

  void bind(sqlite3_stmt* s, int i, int64_t x) {
    check(sqlite3_bind_int64(s, i, x), "bind parameter");
  }

  void step(sqlite3_stmt* s, const char* op, const std::string& subject = {}) {
    resetter r{s};
    if (sqlite3_step(s) != SQLITE_DONE)
      fail(op, subject);
  }

  // Calls `f` for each row of `s` (bound already), then resets it.
  template<class F>
  void each_row(sqlite3_stmt* s, const char* op, F f,
                const std::string& subject = {}) {
    resetter r{s};
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE)
        return;
      if (rc != SQLITE_ROW)
        fail(op, subject);
      f(s);
    }
  }

  void put_task(const task_record& t) {
    auto* s = put_task_.get();
    std::string payload;
    bind(s, 1, t.id);
    bind(s, 2, t.job);
    bind(s, 3, t.event.dataset);
    bind(s, 4, t.event.cursor);
    bind(s, 5, t.event.partition);
    if (t.event.payload.is_null()) {
      check(sqlite3_bind_null(s, 6), "bind parameter");
    } else {
      payload = dump_lenient(t.event.payload);
      bind(s, 6, payload);
    }
    bind(s, 7, to_string(t.state));
    bind(s, 8, static_cast<int64_t>(t.attempts));
    bind(s, 9, t.created_ms);
    bind(s, 10, t.due_ms);
    auto history = dump_lenient(history_to_json(t.history));
    bind(s, 11, history);
    step(s, "write task", t.id);
  }

  // Rows that cannot be read are left out (into `unreadable` when given):
  // one damaged row must not keep every other task from loading.
  std::vector<task_record>
  read_tasks(sqlite3_stmt* s, const char* op, const std::string& subject = {},
             std::vector<unreadable_task>* unreadable = nullptr) {
    std::vector<task_record> result;
    auto at = prefix();
    each_row(
        s, op,
        [&](sqlite3_stmt* row) {
          try {
            result.push_back(read_task_row(row, at, max_payload_bytes_));
          } catch (const store_error& e) {
            if (unreadable != nullptr)
              unreadable->push_back(unreadable_row(row, e.what()));
          }
        },
        subject);
    return result;
  }

  std::string path_;
  size_t max_payload_bytes_; // of a payload read back; 0: none
  // Destroyed last: the statements are finalized first, then db_ closes the
  // database (checkpointing the WAL when it is the last connection).
  db_ptr db_;
  stmt_ptr begin_, commit_, rollback_;
  stmt_ptr put_task_, put_cursor_, delete_task_, pause_, resume_;
  stmt_ptr load_open_, load_cursors_, load_paused_, count_done_;
  stmt_ptr prunable_, count_pruned_;
  stmt_ptr list_all_, list_state_;
};

} // namespace

std::unique_ptr<task_store> open_sqlite_task_store(const std::string& path,
                                                   sync_mode sync,
                                                   size_t max_payload_bytes) {
  return std::make_unique<sqlite_task_store>(path, sync, max_payload_bytes);
}

} // namespace mesh
