#pragma once

// One spdlog logger per component ("router", "registry", "executor",
// "cluster", "config", "console", "node", ...), all writing to the node's
// shared sinks. Create them here only, so the level and format are uniform.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace mesh::log {

/// Sets up the shared sinks (stderr) and the level of every logger, present
/// and future. `level` is one of trace, debug, info, warn, error, critical,
/// off. Returns false (and changes nothing) for an unknown level name.
bool init(const std::string& level);

/// The logger of `component`, created on first use with the shared sinks.
/// Thread-safe; cheap enough to call once per actor and keep.
std::shared_ptr<spdlog::logger> get(const std::string& component);

/// True for the names `init` accepts.
bool is_level_name(const std::string& level);

} // namespace mesh::log
