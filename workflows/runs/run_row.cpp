#include "workflows/runs/run_row.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "config/node_config.hpp" // max_json_file_bytes
#include "protocol/json/json_payload.hpp" // max_json_depth
#include "tasks/store/json_column.hpp"

namespace mesh::sqlite {

std::optional<run_record> read_run_row(sqlite3_stmt* s,
                                       size_t max_payload_bytes,
                                       std::string& why) {
  // The definition is bounded like a workflow file; the document by what a
  // run of that many steps can hold and by twice the nesting of a payload
  // (an output template may quote whole outputs).
  try {
    auto bounded = max_payload_bytes > 0;
    auto def_bytes = static_cast<size_t>(sqlite3_column_bytes(s, 2));
    auto def = json_column(
      s, 2, "definition",
      bounded ? std::max(max_json_file_bytes, max_payload_bytes) : 0,
      "the bound of a workflow file", max_json_depth() + 2);
    auto found = def.is_object() ? def.find("steps") : def.end();
    auto steps = found != def.end() && found->is_array() ? found->size() : 0;
    auto doc = json_column(
      s, 1, "document",
      bounded ? max_run_bytes(steps, def_bytes, max_payload_bytes) : 0,
      "what a run of its workflow can hold", 2 * max_json_depth() + 8);
    doc["definition"] = std::move(def);
    return run_from_json(doc);
  } catch (const nlohmann::json::exception& e) {
    why = std::string{"bad document: "} + e.what();
  } catch (const std::invalid_argument& e) {
    why = e.what();
  }
  return std::nullopt;
}

} // namespace mesh::sqlite
