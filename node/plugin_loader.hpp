#pragma once

#include <string>

#include <caf/error.hpp>

#include "node/plugin_api.hpp"

namespace mesh {

/// Finds a plug-in: a path with a '/' is taken as it is; a bare file name is
/// looked up next to the running executable first, then by the dynamic
/// loader's usual search.
std::string resolve_plugin_path(const std::string& name);

/// Loads the plug-in at `path` and calls its entry point with `registrar`.
/// A missing file, a library that fails to load, a missing entry point, a
/// refused ABI version, a non-zero return or an exception: an
/// `invalid_argument` error naming the plug-in and the cause. Plug-ins are
/// never unloaded (their code may still run in handler threads).
caf::error load_plugin(const std::string& path, handler_registrar& registrar);

} // namespace mesh
