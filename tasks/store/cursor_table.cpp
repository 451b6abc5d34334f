#include "tasks/store/cursor_table.hpp"

namespace mesh {

bool cursor_table::admit(const cursor_key& key, int64_t cursor,
                         bool from_outside,
                         std::map<cursor_key, int64_t>& changes) {
  auto i = cursors_.find(key);
  if (from_outside && i != cursors_.end() && cursor <= i->second)
    return false;
  if (i == cursors_.end() || cursor > i->second) {
    cursors_[key] = cursor;
    changes[key] = cursor;
  }
  return true;
}

} // namespace mesh
