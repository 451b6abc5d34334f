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
/// off; `format` is "text" (one human line) or "json" (one JSON object a
/// line: {"time","level","logger","node","msg"}, the message escaped, so a
/// quote or a newline in it never breaks the line). Returns false (and
/// changes nothing) for an unknown level or format name.
bool init(const std::string& level, const std::string& format = "text");

/// The node id every JSON line carries as "node" (the text format does not
/// show it). Process-wide: set by the node as soon as its id is known.
void set_node(const std::string& id);

/// The logger of `component`, created on first use with the shared sinks.
/// Thread-safe; cheap enough to call once per actor and keep.
std::shared_ptr<spdlog::logger> get(const std::string& component);

/// True for the names `init` accepts.
bool is_level_name(const std::string& level);

/// True for "text" and "json".
bool is_format_name(const std::string& format);

/// From now on, whatever anything in the process writes to std::cout goes
/// to the "caf" logger at warn instead, one log line per line written (the
/// first few, then every 1000th, so a flood of them cannot fill the log).
/// CAF's actors print there ("*** unexpected message"), and stdout must
/// carry nothing but what `write_stdout` writes (meshnode's ready line).
/// Call once, before any thread writes to std::cout.
void capture_stdout();

/// Writes `line` and a newline to the process's real stdout and flushes it,
/// whether or not capture_stdout() took std::cout over.
void write_stdout(const std::string& line);

} // namespace mesh::log
