#pragma once

// The SQL of the task store's file: its tables, and the upgrade of a file
// written by an older build. Only sqlite_task_store.cpp includes it.

#include <cstdint>

namespace mesh::task_schema {

/// The file's user_version; a newer one is refused.
constexpr int64_t version = 1;

// "partition" is quoted: it is an SQL keyword (window functions), accepted
// as a name only where SQLite can tell it is one. The state check is a
// chain of comparisons: SQLite (3.40) codes `state IN (5 names)` as a
// temporary table built and torn down on every row written, which cost
// more than the write itself (a pager per row, its memory given back to the
// OS each time).
#define MESH_TASKS_TABLE(name)                                                 \
  "CREATE TABLE IF NOT EXISTS " name "(\n"                                    \
  "  id TEXT PRIMARY KEY,\n"                                                  \
  "  job TEXT NOT NULL,\n"                                                    \
  "  dataset TEXT NOT NULL,\n"                                                \
  "  cursor INTEGER NOT NULL,\n"                                              \
  "  \"partition\" TEXT NOT NULL,\n"                                        \
  "  payload TEXT,\n"                                                         \
  "  state TEXT NOT NULL\n"                                                   \
  "    CHECK(state = 'held' OR state = 'queued' OR state = 'leased'\n"        \
  "          OR state = 'done' OR state = 'dead'),\n"                         \
  "  attempts INTEGER NOT NULL,\n"                                            \
  "  created_ms INTEGER NOT NULL,\n"                                          \
  "  due_ms INTEGER NOT NULL,\n"                                              \
  "  history TEXT NOT NULL);\n"

constexpr const char* create_sql = MESH_TASKS_TABLE("tasks") R"(
CREATE INDEX IF NOT EXISTS tasks_by_job_state ON tasks(job, state);
CREATE TABLE IF NOT EXISTS cursors(
  job TEXT NOT NULL, dataset TEXT NOT NULL, "partition" TEXT NOT NULL,
  cursor INTEGER NOT NULL, PRIMARY KEY(job, dataset, "partition"));
CREATE TABLE IF NOT EXISTS paused_jobs(job TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS done_pruned(job TEXT PRIMARY KEY,
                                       n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS done_by_time ON tasks(due_ms) WHERE state = 'done';
)";

// Done tasks past their retention, oldest first, and the count kept of
// them per job (a node's done figures survive the pruning). The index is
// partial: only a task's last write, as done, touches it.
constexpr const char* prunable_sql
  = "SELECT id, job FROM tasks WHERE state = 'done' AND due_ms < ?1 "
    "ORDER BY due_ms LIMIT ?2";
constexpr const char* count_pruned_sql
  = "INSERT INTO done_pruned(job, n) VALUES(?1, ?2) "
    "ON CONFLICT(job) DO UPDATE SET n = n + excluded.n";
constexpr const char* count_done_sql
  = "SELECT job, SUM(n) FROM (SELECT job, COUNT(*) AS n FROM tasks "
    "WHERE state = 'done' GROUP BY job UNION ALL "
    "SELECT job, n FROM done_pruned) GROUP BY job";

// A file written before the check was a chain: the same rows and columns,
// copied into the new form of the table (the schema version stays 1, so a
// node of the older build still opens the file).
constexpr const char* upgrade_check_sql = MESH_TASKS_TABLE("tasks_upgraded") R"(
INSERT INTO tasks_upgraded SELECT id, job, dataset, cursor, "partition",
  payload, state, attempts, created_ms, due_ms, history FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_upgraded RENAME TO tasks;
)";

#undef MESH_TASKS_TABLE

} // namespace mesh::task_schema
