#include "tasks/store/task_row.hpp"

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "tasks/store/sqlite_util.hpp"
#include "tasks/task_json.hpp"

namespace mesh::sqlite {

task_record read_task_row(sqlite3_stmt* s, const std::string& prefix) {
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
  const char* part = "payload";
  try {
    if (sqlite3_column_type(s, 5) != SQLITE_NULL)
      t.event.payload = nlohmann::json::parse(column_text(s, 5));
    part = "history";
    t.history = history_from_json(nlohmann::json::parse(column_text(s, 10)));
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string{"bad "} + part + ": " + e.what());
  }
  return t;
}

unreadable_task unreadable_row(sqlite3_stmt* s, std::string why) {
  return {column_text(s, 0), column_text(s, 1), std::move(why)};
}

} // namespace mesh::sqlite
