#pragma once

// A JSON column of a SQLite row read as any JSON from outside: the file may
// be damaged or edited by hand. Shared by the task and the run stores.

#include <cstddef>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace mesh::sqlite {

/// Column `col` of the current row of `s`, parsed. Its size is checked
/// against `max_bytes` (0: no bound) before the text is copied out of
/// SQLite; the document must be UTF-8 and nest no deeper than `max_depth`.
/// Throws std::invalid_argument naming `part`: "payload of N bytes is
/// larger than M bytes (BOUND)" or "bad payload: WHY".
nlohmann::json json_column(sqlite3_stmt* s, int col, const char* part,
                           size_t max_bytes, const char* bound,
                           size_t max_depth);

} // namespace mesh::sqlite
