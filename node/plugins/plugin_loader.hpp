#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "node/plugin_api.hpp"

namespace mesh {

/// The places a plug-in named `name` is looked for, in order:
/// - a name with a '/' is a path, relative to the working directory: only
///   that place;
/// - a bare file name: the working directory, then the folder of the running
///   executable, then <executable folder>/../lib/mesh/plugins (the installed
///   layout).
/// When none holds the file, a bare name is left to the dynamic loader's own
/// search (LD_LIBRARY_PATH, the system's library folders).
std::vector<std::string> plugin_search_places(const std::string& name);

/// Finds a plug-in: the first of plugin_search_places(name) that holds a
/// file; else `name` itself (for the dynamic loader's search).
std::string resolve_plugin_path(const std::string& name);

/// Loads the plug-in `name` (found as resolve_plugin_path says) and calls its
/// entry point with `registrar`. A missing file (the error lists every place
/// looked in), a library that fails to load, a missing entry point, a
/// plug-in built for another ABI version (both versions named), a non-zero
/// return or an exception: an `invalid_argument` error naming the plug-in and
/// the cause. Plug-ins are never unloaded (their code may still run in
/// handler threads).
caf::error load_plugin(const std::string& name, handler_registrar& registrar);

} // namespace mesh
