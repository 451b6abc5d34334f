#pragma once

// A task's attempt history as JSON: one form for the store's column and
// for what meshctl shows.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task.hpp"

namespace mesh {

/// [{"attempt", "status", "error", "node", "at_ms"}, ...]
nlohmann::json history_to_json(const std::vector<attempt_record>& history);

/// The inverse; throws nlohmann::json::exception for a malformed document.
std::vector<attempt_record> history_from_json(const nlohmann::json& doc);

/// Compact text; invalid UTF-8 is replaced rather than thrown (one bad
/// string must not fail every other change of its batch again and again).
std::string dump_lenient(const nlohmann::json& x);

} // namespace mesh
