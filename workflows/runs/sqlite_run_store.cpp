// The SQLite store of workflow runs: a table of its own in the node's task
// file, reached through a second connection (the task dispatcher holds the
// first). WAL journal, so neither blocks the other's readers; a busy
// timeout for the moments both write. The file's user_version belongs to
// the task store and is never touched here: bumping it would make the task
// store refuse the file.

#include "workflows/runs/run_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "tasks/store/sqlite_util.hpp"
#include "tasks/task_json.hpp" // dump_lenient
#include "telemetry/log.hpp"
#include "workflows/runs/run_row.hpp"

namespace mesh {

namespace {

// The columns besides `doc` and `definition` are copies of the record's
// fields, for the indexes. The definition (which never changes during a
// run) is written once, with the first save; every later save rewrites
// only the rest of the record.
constexpr const char* schema_sql = R"(
CREATE TABLE IF NOT EXISTS workflow_runs(
  id TEXT PRIMARY KEY,
  workflow TEXT NOT NULL,
  status TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  completed_ms INTEGER NOT NULL,
  definition TEXT NOT NULL,
  doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS workflow_runs_by_status
  ON workflow_runs(status, started_ms);
CREATE INDEX IF NOT EXISTS workflow_runs_by_workflow
  ON workflow_runs(workflow, started_ms);
CREATE INDEX IF NOT EXISTS workflow_runs_by_end
  ON workflow_runs(completed_ms);
)";

// Newest first; the id breaks ties so that the order is stable.
#define MESH_RUNS_NEWEST " ORDER BY started_ms DESC, id DESC LIMIT ?1"
// The columns every read takes, in read_run_row's order (run_row.hpp), and
// the workflow, to name an unreadable row.
#define MESH_RUNS_SELECT "SELECT id, doc, definition, workflow FROM workflow_runs "

using namespace sqlite; // handles, resetter, column_text

class sqlite_run_store final : public run_store {
public:
  sqlite_run_store(std::string path, sync_mode sync, size_t max_payload_bytes)
      : path_(std::move(path)),
        max_payload_bytes_(max_payload_bytes),
        log_(log::get("workflows")) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                 | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    db_.reset(raw); // closed by db_closer even when opening failed
    if (rc != SQLITE_OK)
      fail("open");
    check(sqlite3_busy_timeout(db(), 5000), "set busy timeout");
    // The first read of the file: one that is not a database fails here.
    auto mode = column_text(
        first_row("PRAGMA journal_mode=WAL", "set journal mode").get(), 0);
    if (mode != "wal" && mode != "memory")
      throw store_error(prefix() + "set journal mode: got '" + mode
                        + "' instead of 'wal'");
    exec(sync == sync_mode::full     ? "PRAGMA synchronous=FULL"
         : sync == sync_mode::normal ? "PRAGMA synchronous=NORMAL"
                                     : "PRAGMA synchronous=OFF",
         "set synchronous");
    create_schema();
    save_ = prepare("INSERT OR REPLACE INTO workflow_runs(id, workflow, "
                    "status, started_ms, completed_ms, doc, definition) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    update_ = prepare("UPDATE workflow_runs SET status = ?3, "
                      "completed_ms = ?5, doc = ?6 WHERE id = ?1");
    find_ = prepare(MESH_RUNS_SELECT "WHERE id = ?1");
    unfinished_ = prepare(MESH_RUNS_SELECT
                          "WHERE status = 'running' ORDER BY started_ms, id");
    list_all_ = prepare(MESH_RUNS_SELECT MESH_RUNS_NEWEST);
    list_workflow_ = prepare(MESH_RUNS_SELECT
                             "WHERE workflow = ?2" MESH_RUNS_NEWEST);
    list_status_ = prepare(MESH_RUNS_SELECT "WHERE status = ?3" MESH_RUNS_NEWEST);
    list_both_ = prepare(MESH_RUNS_SELECT
                         "WHERE workflow = ?2 AND status = ?3" MESH_RUNS_NEWEST);
    // The newest finished runs are the ones that finished last.
    trim_ = prepare(
        "DELETE FROM workflow_runs WHERE status != 'running' AND id NOT IN ("
        "SELECT id FROM workflow_runs WHERE status != 'running' "
        "ORDER BY completed_ms DESC, started_ms DESC, id DESC LIMIT ?1)");
  }

  void save(const run_record& run) override {
    auto full = to_json(run);
    full.erase("definition");
    auto doc = dump_lenient(full);
    // A run this store wrote before: the rest of the record only.
    bool known = written_.count(run.id) > 0;
    if (known) {
      auto* s = update_.get();
      resetter r{s};
      bind(s, 1, run.id);
      bind(s, 3, to_string(run.status));
      bind(s, 5, run.completed_ms);
      bind(s, 6, doc);
      if (sqlite3_step(s) != SQLITE_DONE)
        fail("write run " + run.id);
      known = sqlite3_changes(db()) > 0; // trimmed meanwhile: insert it
    }
    if (!known) {
      auto definition = dump_lenient(run.definition);
      auto* s = save_.get();
      resetter r{s};
      bind(s, 1, run.id);
      bind(s, 2, run.workflow);
      bind(s, 3, to_string(run.status));
      bind(s, 4, run.started_ms);
      bind(s, 5, run.completed_ms);
      bind(s, 6, doc);
      bind(s, 7, definition);
      if (sqlite3_step(s) != SQLITE_DONE)
        fail("write run " + run.id);
    }
    // Runs under way only: the set stays as small as the runs in flight.
    if (run.finished())
      written_.erase(run.id);
    else
      written_.insert(run.id);
  }

  std::vector<run_record>
  load_unfinished(std::vector<unreadable_run>* unreadable) override {
    return read_runs(unfinished_.get(), "load unfinished runs", unreadable);
  }

  std::optional<run_record> find(const std::string& id) override {
    auto* s = find_.get();
    resetter r{s};
    bind(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
      return std::nullopt;
    if (rc != SQLITE_ROW)
      fail("find run " + id);
    std::string why;
    if (auto run = parse(s, why))
      return run;
    throw store_error(prefix() + "run " + id + ": " + why);
  }

  std::vector<run_record>
  list(const run_query& q, std::vector<unreadable_run>* unreadable) override {
    auto* s = !q.workflow.empty() && q.status ? list_both_.get()
              : !q.workflow.empty()           ? list_workflow_.get()
              : q.status                      ? list_status_.get()
                                              : list_all_.get();
    resetter r{s};
    bind(s, 1, clamp_limit(q.limit));
    if (!q.workflow.empty())
      bind(s, 2, q.workflow);
    if (q.status)
      bind(s, 3, to_string(*q.status));
    return read_runs(s, "list runs", unreadable);
  }

  size_t trim(size_t keep) override {
    auto* s = trim_.get();
    resetter r{s};
    bind(s, 1, clamp_limit(keep));
    if (sqlite3_step(s) != SQLITE_DONE)
      fail("trim runs");
    return static_cast<size_t>(sqlite3_changes(db()));
  }

  std::string location() const override {
    return path_;
  }

private:
  sqlite3* db() const {
    return db_.get();
  }

  std::string prefix() const {
    return "run store " + path_ + ": ";
  }

  [[noreturn]] void fail(const std::string& op) const {
    throw store_error(prefix() + op + ": " + sqlite3_errmsg(db()));
  }

  void check(int rc, const char* op) const {
    if (rc != SQLITE_OK)
      fail(op);
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

  // IMMEDIATE: the task store may be creating its own tables at the same
  // moment through its connection; the busy timeout makes one wait.
  void create_schema() {
    exec("BEGIN IMMEDIATE", "create schema");
    try {
      exec(schema_sql, "create schema");
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

  // The run in the current row (id, doc, definition), or none with `why`
  // set: the file may be damaged or edited by hand (run_row.hpp).
  std::optional<run_record> parse(sqlite3_stmt* s, std::string& why) const {
    return sqlite::read_run_row(s, max_payload_bytes_, why);
  }

  // Steps `s` (bound already) through its rows. A row that does not parse
  // is skipped rather than failing the whole read: one damaged run must not
  // stop the others from resuming or being listed.
  std::vector<run_record> read_runs(sqlite3_stmt* s, const char* op,
                                    std::vector<unreadable_run>* unreadable) {
    resetter r{s};
    std::vector<run_record> result;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE)
        return result;
      if (rc != SQLITE_ROW)
        fail(op);
      std::string why;
      if (auto run = parse(s, why))
        result.push_back(std::move(*run));
      else {
        log_->error("{}{}: skipped run {}: {}", prefix(), op, column_text(s, 0),
                    why);
        if (unreadable != nullptr)
          unreadable->push_back({column_text(s, 0), column_text(s, 3), why});
      }
    }
  }

  std::string path_;
  size_t max_payload_bytes_; ///< 0: rows are read unbounded
  std::shared_ptr<spdlog::logger> log_;
  // Destroyed last: the statements are finalized first, then db_ closes the
  // database (checkpointing the WAL when it is the last connection).
  db_ptr db_;
  stmt_ptr save_, update_, find_, unfinished_;
  std::set<std::string> written_; ///< runs under way this store has written
  stmt_ptr list_all_, list_workflow_, list_status_, list_both_, trim_;
};

} // namespace

std::unique_ptr<run_store> open_sqlite_run_store(const std::string& path,
                                                 sync_mode sync,
                                                 size_t max_payload_bytes) {
  return std::make_unique<sqlite_run_store>(path, sync, max_payload_bytes);
}

} // namespace mesh
