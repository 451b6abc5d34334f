#pragma once

// Dedupe of events (seed 002): per job and (dataset, partition), the
// highest cursor taken so far. An event from outside whose cursor is not
// past it is skipped (the same event twice, or one that arrives too late);
// events a job's own successful tasks emit finish in any order, so they
// never fail this check but still move the cursor forward.

#include <cstdint>
#include <map>

#include "tasks/store/task_store.hpp"

namespace mesh {

class cursor_table {
public:
  /// Starts from what the store committed.
  void load(std::map<cursor_key, int64_t> committed) {
    cursors_ = std::move(committed);
  }

  /// True if the event at `cursor` is to become a task. When it moves the
  /// cursor forward, the new value is also written to `changes`.
  bool admit(const cursor_key& key, int64_t cursor, bool from_outside,
             std::map<cursor_key, int64_t>& changes);

  /// The committed cursor of `key`, if any.
  const int64_t* find(const cursor_key& key) const {
    auto i = cursors_.find(key);
    return i != cursors_.end() ? &i->second : nullptr;
  }

private:
  std::map<cursor_key, int64_t> cursors_;
};

} // namespace mesh
