#include "tasks/store/json_column.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp" // error_text
#include "tasks/store/sqlite_util.hpp"

namespace mesh::sqlite {

nlohmann::json json_column(sqlite3_stmt* s, int col, const char* part,
                           size_t max_bytes, const char* bound,
                           size_t max_depth) {
  auto bytes = static_cast<size_t>(sqlite3_column_bytes(s, col));
  if (max_bytes > 0 && bytes > max_bytes)
    throw std::invalid_argument(std::string{part} + " of "
                                + std::to_string(bytes)
                                + " bytes is larger than "
                                + std::to_string(max_bytes) + " bytes ("
                                + bound + ")");
  auto doc = parse_json(column_text(s, col), max_depth);
  if (!doc)
    throw std::invalid_argument(std::string{"bad "} + part + ": "
                                + error_text(doc.error()));
  return std::move(*doc);
}

} // namespace mesh::sqlite
