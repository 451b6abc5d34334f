// Fuzz target: a row of the node's SQLite file read back, as the task store
// and the run store read theirs (the file may be damaged or edited by
// hand). The row is a `SELECT ?1, ?2, ...` whose parameters come from the
// input, so the real row readers run on real SQLite values; a reader may
// refuse a row only with its own error (store_error, or a reason for a
// run), and a run it accepts must survive what resuming it does.
//
// Input: byte 0 picks the table (bit 0: runs) and the bound (bit 1: a
// small limits.max_payload_bytes, else none); byte 1 marks columns bound
// as NULL (bit k: column k); the rest is the columns' text, split at 0x1f.
// Integer columns are read from their text (strtoll).
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tasks/store/task_row.hpp"
#include "tasks/task_json.hpp"
#include "workflows/runs/run_row.hpp"
#include "workflows/workflow.hpp"

namespace {

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct stmt_closer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

sqlite3* database() {
  static std::unique_ptr<sqlite3, db_closer> db{[] {
    sqlite3* out = nullptr;
    sqlite3_open(":memory:", &out);
    return out;
  }()};
  return db.get();
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\x1f') {
      out.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

// A statement whose one row is `columns` (NULL where `nulls` says, an
// integer where `ints` says, text elsewhere); stepped to that row.
std::unique_ptr<sqlite3_stmt, stmt_closer>
row_of(const std::vector<std::string>& fields, int columns, unsigned nulls,
       unsigned ints) {
  std::string sql = "SELECT ";
  for (int i = 1; i <= columns; ++i)
    sql += (i > 1 ? ", ?" : "?") + std::to_string(i);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(database(), sql.c_str(), -1, &raw, nullptr)
      != SQLITE_OK)
    std::abort(); // the statement is ours: a failure is a bug here
  std::unique_ptr<sqlite3_stmt, stmt_closer> s{raw};
  for (int i = 0; i < columns; ++i) {
    auto text = i < static_cast<int>(fields.size()) ? fields[i] : std::string{};
    if (nulls & (1u << i))
      sqlite3_bind_null(raw, i + 1);
    else if (ints & (1u << i))
      sqlite3_bind_int64(raw, i + 1, std::strtoll(text.c_str(), nullptr, 10));
    else
      sqlite3_bind_text(raw, i + 1, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT);
  }
  if (sqlite3_step(raw) != SQLITE_ROW)
    std::abort();
  return s;
}

void read_task(const std::vector<std::string>& fields, unsigned nulls,
               size_t max_payload) {
  // id, job, dataset, cursor, partition, payload, state, attempts,
  // created_ms, due_ms, history; the integers: 3, 7, 8, 9.
  auto s = row_of(fields, 11, nulls, (1u << 3) | (1u << 7) | (1u << 8)
                                       | (1u << 9));
  try {
    auto t = mesh::sqlite::read_task_row(s.get(), "fuzz: ", max_payload);
    // What meshctl tasks and the dispatcher do with it.
    (void) mesh::dump_lenient(t.event.payload);
    (void) mesh::dump_lenient(mesh::history_to_json(t.history));
  } catch (const mesh::store_error&) {
    // Refused in the store's words: what a damaged row gets.
  }
}

void read_run(const std::vector<std::string>& fields, unsigned nulls,
              size_t max_payload) {
  auto s = row_of(fields, 3, nulls, 0); // id, doc, definition
  std::string why;
  auto run = mesh::sqlite::read_run_row(s.get(), max_payload, why);
  if (!run)
    return;
  (void) mesh::dump_lenient(mesh::to_json(*run)); // meshctl run ID
  // What resuming it does: the definition checked again, the step counts
  // compared, then the run's rules applied to the record as it is.
  auto parsed = mesh::parse_workflow(run->definition, "fuzz");
  auto* def = std::get_if<mesh::workflow_ptr>(&parsed);
  if (def == nullptr || !*def || (*def)->steps.size() != run->steps.size())
    return;
  (void) mesh::reference_scope(**def, *run);
  (void) mesh::compensation_order(**def, *run);
  mesh::skip_unreachable(**def, *run);
  (void) mesh::ready_steps(**def, *run, 8);
  (void) mesh::run_settled(**def, *run, 8);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  bool runs = (data[0] & 1) != 0;
  size_t max_payload = (data[0] & 2) != 0 ? 4096 : 0;
  unsigned nulls = data[1];
  auto fields = split({reinterpret_cast<const char*>(data + 2), size - 2});
  if (runs)
    read_run(fields, nulls, max_payload);
  else
    read_task(fields, nulls, max_payload);
  return 0;
}
