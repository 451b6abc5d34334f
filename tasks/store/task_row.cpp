#include "tasks/store/task_row.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp" // max_json_depth
#include "tasks/store/json_column.hpp"
#include "tasks/store/sqlite_util.hpp"
#include "tasks/task_json.hpp"

namespace mesh::sqlite {

task_record read_task_row(sqlite3_stmt* s, const std::string& prefix,
                          size_t max_payload_bytes) {
  task_record t;
  t.id = column_text(s, 0);
  t.job = column_text(s, 1);
  t.event.dataset = column_text(s, 2);
  t.event.cursor = sqlite3_column_int64(s, 3);
  t.event.partition = column_text(s, 4);
  auto bad = [&](const std::string& what) {
    return store_error(prefix + "task " + t.id + ": " + what);
  };
  auto state = task_state_from_string(column_text(s, 6));
  if (!state)
    throw bad("unknown state '" + column_text(s, 6) + "'");
  t.state = *state;
  auto attempts = sqlite3_column_int64(s, 7);
  if (attempts < 0 || attempts > std::numeric_limits<uint32_t>::max())
    throw bad("attempts out of range: " + std::to_string(attempts));
  t.attempts = static_cast<uint32_t>(attempts);
  t.created_ms = sqlite3_column_int64(s, 8);
  t.due_ms = sqlite3_column_int64(s, 9);
  auto parsed = [&](int col, const char* part, size_t max_bytes,
                    const char* bound) {
    try {
      return json_column(s, col, part, max_bytes, bound, max_json_depth());
    } catch (const std::invalid_argument& e) {
      throw bad(e.what());
    }
  };
  if (sqlite3_column_type(s, 5) != SQLITE_NULL)
    t.event.payload = parsed(5, "payload", max_payload_bytes,
                             "limits.max_payload_bytes");
  try {
    t.history = history_from_json(
      parsed(10, "history", max_history_bytes, "the bound of a history"));
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string{"bad history: "} + e.what());
  }
  return t;
}

unreadable_task unreadable_row(sqlite3_stmt* s, std::string why) {
  return {column_text(s, 0), column_text(s, 1), std::move(why)};
}

} // namespace mesh::sqlite
