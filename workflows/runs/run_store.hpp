#pragma once

// Where workflow runs live durably: one row per run holding its record
// (workflow_run.hpp), rewritten on every save in one SQLite transaction;
// the definition, which never changes during a run, is written with the
// first save only. The node keeps it in the same file as its tasks (a
// table of its own), WAL journal.
//
// Every function throws store_error (tasks/store/task_store.hpp) with a message
// naming the file and the operation when the database fails.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tasks/store/task_store.hpp" // store_error, sync_mode
#include "workflows/runs/workflow_run.hpp"

namespace mesh {

struct run_query {
  std::string workflow;             ///< "" : any
  std::optional<run_status> status; ///< none: any
  size_t limit = 100;
};

/// A stored run whose row cannot be read: its id and workflow as stored,
/// and why (run_row.hpp).
struct unreadable_run {
  std::string id;
  std::string workflow;
  std::string why;
};

class run_store {
public:
  virtual ~run_store() = default;

  /// Inserts or replaces `run` (by id).
  virtual void save(const run_record& run) = 0;

  /// Every run still `running` (to resume after a restart), oldest first.
  /// Rows that cannot be read are left out, and named in `unreadable` when
  /// given.
  virtual std::vector<run_record>
  load_unfinished(std::vector<unreadable_run>* unreadable = nullptr) = 0;

  virtual std::optional<run_record> find(const std::string& id) = 0;

  /// Runs matching `q`, newest first; unreadable rows as load_unfinished
  /// (they count towards the limit).
  virtual std::vector<run_record>
  list(const run_query& q,
       std::vector<unreadable_run>* unreadable = nullptr) = 0;

  /// Deletes the oldest finished runs beyond the newest `keep` finished
  /// ones; returns how many it deleted.
  virtual size_t trim(size_t keep) = 0;

  /// Where the data is ("/path/tasks.db").
  virtual std::string location() const = 0;
};

/// Opens (creating if needed) the runs table of the SQLite file at `path`.
/// Throws store_error naming the path.
///
/// A row that cannot be read (damaged or edited by hand) is skipped by
/// load_unfinished and list, logged, and named by find; it stays in the
/// file. With `max_payload_bytes` (the node's limits.max_payload_bytes; 0:
/// no bound, for offline tools) a row is also unreadable when its
/// definition is larger than a workflow file may be or its document larger
/// than max_run_bytes allows: sizes are checked before a column is read.
std::unique_ptr<run_store> open_sqlite_run_store(const std::string& path,
                                                 sync_mode sync,
                                                 size_t max_payload_bytes = 0);

} // namespace mesh
