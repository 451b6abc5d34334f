#include "tasks/store/task_row.hpp"

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp" // max_json_depth
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"            // error_text
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
  // As any JSON from outside (the file may be damaged or edited by hand):
  // never thrown past here, nested no deeper than a payload may be, and
  // its size checked before it is copied out of SQLite.
  auto parsed = [&](int col, const char* part, size_t max_bytes,
                    const char* bound) {
    auto bytes = static_cast<size_t>(sqlite3_column_bytes(s, col));
    if (max_bytes > 0 && bytes > max_bytes)
      throw bad(std::string{part} + " of " + std::to_string(bytes)
                + " bytes is larger than " + std::to_string(max_bytes)
                + " bytes (" + bound + ")");
    auto doc = parse_json(column_text(s, col), max_json_depth());
    if (!doc)
      throw bad(std::string{"bad "} + part + ": " + error_text(doc.error()));
    return std::move(*doc);
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
