#pragma once

// Events as JSON, the form meshctl, the console and node::emit use:
// {"dataset", "cursor", "partition"?, "payload"?}, or a bulk
// {"events": [event, ...]} of up to 100,000.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task.hpp"

namespace mesh {

/// The most events one bulk emit may carry.
inline constexpr size_t max_bulk_events = 100000;

/// Reads one event or a bulk into `out`. Returns an empty string, or why
/// the document is refused (nothing is read then): "bad event: ...",
/// "event 3: bad event: ..." for a bulk.
std::string parse_events(const nlohmann::json& doc, std::vector<task_event>& out);

} // namespace mesh
