#pragma once

// run_row: one row of the workflow_runs table read back as a run_record.
// The row comes from a file on disk, which may be damaged or edited by
// hand: every column is read as input from outside.

#include <cstddef>
#include <optional>
#include <string>

#include <sqlite3.h>

#include "workflows/runs/workflow_run.hpp"

namespace mesh::sqlite {

/// The run in the current row of `s`, whose columns 1 and 2 are the run's
/// document and its definition (column 0, its id, is not read here). None,
/// with `why` set ("document of N bytes is larger than ...", "bad
/// definition: ...", "bad document: ..."), when a column is not JSON, not
/// UTF-8, nests too deep (the definition max_json_depth() + 2, the document
/// twice max_json_depth() + 8), is larger than its bound (the definition
/// max(16 MiB, max_payload_bytes), the document max_run_bytes for its
/// definition's steps; sizes are checked before the text is read) or is no
/// run. `max_payload_bytes` 0: no size bound (offline tools). Throws
/// nothing else a row can provoke.
std::optional<run_record> read_run_row(sqlite3_stmt* s,
                                       size_t max_payload_bytes,
                                       std::string& why);

} // namespace mesh::sqlite
