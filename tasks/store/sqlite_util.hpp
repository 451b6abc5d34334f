#pragma once

// What the SQLite stores (tasks, workflow runs) share: handles that close
// and finalize themselves, a statement reset on leaving a scope, and text
// columns as strings.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include <sqlite3.h>

namespace mesh::sqlite {

struct db_closer {
  void operator()(sqlite3* db) const {
    sqlite3_close_v2(db);
  }
};

struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const {
    sqlite3_finalize(s);
  }
};

using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Resets a statement (and clears its bindings) when leaving the scope,
/// also on an exception: a statement left mid-way would keep its read
/// transaction open and block the WAL checkpoint of every connection.
class resetter {
public:
  explicit resetter(sqlite3_stmt* s) : s_(s) {}
  ~resetter() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  resetter(const resetter&) = delete;
  resetter& operator=(const resetter&) = delete;

private:
  sqlite3_stmt* s_;
};

/// A row count as SQLite's LIMIT takes it (a size_t may not fit).
inline int64_t clamp_limit(size_t n) {
  constexpr auto most
      = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(n < most ? n : most);
}

/// Column `col` of the current row as text ("" for NULL).
inline std::string column_text(sqlite3_stmt* s, int col) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p != nullptr ? std::string(p, sqlite3_column_bytes(s, col))
                      : std::string{};
}

} // namespace mesh::sqlite
