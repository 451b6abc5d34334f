#pragma once

// Where tasks live durably. The dispatcher keeps every open task in memory
// and writes each change through a store; `commit` applies a whole batch in
// one transaction (group commit: many events and acknowledgements share one
// fsync). Only the embedded SQLite store exists now; a shared PostgreSQL
// store can implement the same interface.
//
// Every function throws store_error with a message naming the file and the
// operation when the database fails (full disk, corrupt file, ...).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "tasks/task.hpp"

namespace mesh {

class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The committed cursor of one job for one (dataset, partition).
struct cursor_key {
  std::string job;
  std::string dataset;
  std::string partition;

  friend bool operator<(const cursor_key& x, const cursor_key& y) {
    return std::tie(x.job, x.dataset, x.partition)
           < std::tie(y.job, y.dataset, y.partition);
  }
};

/// Changes to apply together.
struct store_batch {
  std::vector<task_record> tasks;             ///< inserted or replaced by id
  std::map<cursor_key, int64_t> cursors;      ///< set
  std::vector<std::string> deleted;           ///< task ids to remove
  std::map<std::string, bool> paused;         ///< job -> paused by an operator

  bool empty() const {
    return tasks.empty() && cursors.empty() && deleted.empty() && paused.empty();
  }
  void clear() {
    tasks.clear();
    cursors.clear();
    deleted.clear();
    paused.clear();
  }
};

/// A stored task whose row cannot be read (an unknown state, an attempt
/// count out of range, a payload or history that is not JSON or not UTF-8,
/// nests deeper than limits.max_json_depth or is larger than the store's
/// bounds, as a damaged file or a hand edit leaves it). Reads leave it out
/// rather than fail, so one bad row does not stop every other task; the row
/// itself stays in the store untouched until an operator mends or deletes it.
struct unreadable_task {
  std::string id;
  std::string job;
  std::string why; ///< the store's message, naming the file and the task
};

class task_store {
public:
  virtual ~task_store() = default;

  /// Applies `batch` in one transaction: all of it or none of it.
  virtual void commit(const store_batch& batch) = 0;

  /// Every task that is not done (held, queued, leased, dead). Rows that
  /// cannot be read are left out, and named in `unreadable` when given.
  virtual std::vector<task_record>
  load_open(std::vector<unreadable_task>* unreadable) = 0;

  std::vector<task_record> load_open() {
    return load_open(nullptr);
  }

  virtual std::map<cursor_key, int64_t> load_cursors() = 0;

  /// Jobs an operator paused (and did not resume).
  virtual std::map<std::string, bool> load_paused() = 0;

  /// Done tasks per job, the pruned ones included.
  virtual std::map<std::string, uint64_t> count_done() = 0;

  /// Removes up to `limit` done tasks that finished before `before_ms`
  /// (oldest first) in one transaction, and counts them per job so that
  /// count_done() still includes them. Returns how many went, per job.
  virtual std::map<std::string, uint64_t> prune_done(int64_t before_ms,
                                                     size_t limit) = 0;

  /// Up to `limit` tasks of `job` (in any state, or only `state`), oldest
  /// first. Rows that cannot be read are left out, and named in
  /// `unreadable` when given (they count towards `limit`).
  virtual std::vector<task_record>
  list(const std::string& job, std::optional<task_state> state, size_t limit,
       std::vector<unreadable_task>* unreadable = nullptr) = 0;

  /// Where the data is ("/path/tasks.db").
  virtual std::string location() const = 0;
};

enum class sync_mode : uint8_t { full, normal, off };

/// Opens (creating if needed) a SQLite store at `path`: WAL journal,
/// `synchronous` as given, a busy timeout, the schema created or checked.
/// A stored payload larger than `max_payload_bytes` (a node passes
/// limits.max_payload_bytes; 0: no bound) or a history larger than 64 MiB
/// makes its row unreadable when it is read, rather than being read into
/// memory whole.
/// Throws store_error naming the path.
std::unique_ptr<task_store> open_sqlite_task_store(const std::string& path,
                                                   sync_mode sync,
                                                   size_t max_payload_bytes = 0);

} // namespace mesh
