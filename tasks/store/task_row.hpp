#pragma once

// task_row: one row of the tasks table as a task_record. The columns are
// those of MESH_TASK_COLUMNS, in that order: id, job, dataset, cursor,
// partition, payload, state, attempts, created_ms, due_ms, history.

#include <cstddef>
#include <string>

#include <sqlite3.h>

#include "tasks/store/task_store.hpp"

namespace mesh::sqlite {

/// The task in the current row of `s`. Throws store_error, its message
/// starting with `prefix` and naming the task, when a column cannot be
/// read: an unknown state, an attempt count out of range, a payload or
/// history that is not JSON, is not UTF-8 or nests deeper than
/// max_json_depth(), a payload larger than `max_payload_bytes` (0: no
/// bound) or a history larger than max_history_bytes (sizes are checked
/// before the value is read).
task_record read_task_row(sqlite3_stmt* s, const std::string& prefix,
                          size_t max_payload_bytes);

/// A history holds a line per attempt, kept across requeues: a row's may
/// outgrow the payload bound, never this.
inline constexpr size_t max_history_bytes = 64 * 1024 * 1024;

/// The row as an unreadable task: its id and job as stored, and `why`.
unreadable_task unreadable_row(sqlite3_stmt* s, std::string why);

} // namespace mesh::sqlite
