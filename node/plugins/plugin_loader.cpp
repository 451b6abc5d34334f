#include "node/plugins/plugin_loader.hpp"

#include <climits>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/status.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string executable_dir() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

std::string working_dir() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof(buf)) == nullptr)
    return ".";
  return buf;
}

std::string list_places(const std::vector<std::string>& places) {
  std::string out;
  for (const auto& place : places)
    out += (out.empty() ? "" : ", ") + place;
  return out;
}

} // namespace

std::vector<std::string> plugin_search_places(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (name.front() == '/')
      return {name};
    return {working_dir() + "/" + name};
  }
  // Our own folders first: a library planted in whatever folder the node
  // was started from must not stand in for the plug-in we ship.
  std::vector<std::string> places;
  auto exe = executable_dir();
  if (!exe.empty()) {
    places.push_back(exe + "/" + name);
    // The installed layout: bin/meshnode beside lib/mesh/plugins/.
    places.push_back(exe.substr(0, exe.rfind('/')) + "/lib/mesh/plugins/"
                     + name);
  }
  places.push_back(working_dir() + "/" + name);
  return places;
}

std::string resolve_plugin_path(const std::string& name) {
  for (const auto& place : plugin_search_places(name))
    if (file_exists(place))
      return place;
  return name;
}

caf::error load_plugin(const std::string& name, handler_registrar& registrar) {
  auto fail = [&](const std::string& why) {
    return make_error(status_code::invalid_argument,
                      "plug-in '" + name + "': " + why);
  };
  auto path = resolve_plugin_path(name);
  bool bare = name.find('/') == std::string::npos;
  if (!bare && !file_exists(path))
    return fail("no such file (looked for " + plugin_search_places(name).front()
                + ")");
  auto* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = ::dlerror();
    std::string what = err ? err : "unknown error";
    if (bare && path == name && what.find("No such file") != std::string::npos)
      // Found nowhere: say everywhere it was looked for.
      return fail("no such file: looked in "
                  + list_places(plugin_search_places(name))
                  + ", then the dynamic loader's search path "
                    "(LD_LIBRARY_PATH, the system's library folders): "
                  + what);
    return fail("cannot load: " + what);
  }
  // A plug-in that names its ABI version is refused before its code runs.
  auto* abi_sym = ::dlsym(lib, plugin_abi_symbol);
  if (abi_sym != nullptr) {
    auto theirs = reinterpret_cast<plugin_abi_fn>(abi_sym)();
    if (theirs != plugin_abi_version)
      return fail("built for plug-in ABI version " + std::to_string(theirs)
                  + ", this node speaks version "
                  + std::to_string(plugin_abi_version)
                  + ": rebuild it against this node's headers");
  }
  auto* sym = ::dlsym(lib, plugin_entry_symbol);
  if (sym == nullptr)
    return fail(std::string{"does not export "} + plugin_entry_symbol
                + " (declare it with MESH_PLUGIN_ENTRY)");
  auto entry = reinterpret_cast<plugin_entry_fn>(sym);
  int rc = 0;
  try {
    rc = entry(registrar, plugin_abi_version);
  } catch (const std::exception& e) {
    return fail(std::string{"registration threw: "} + e.what());
  } catch (...) {
    return fail("registration threw an unknown exception");
  }
  if (rc == -1 && abi_sym == nullptr)
    // Built before plug-ins named their ABI version: MESH_PLUGIN_ENTRY
    // answered -1 for another version, so -1 may mean either.
    return fail(std::string{"its "} + plugin_entry_symbol
                + " returned -1: registration failed, or it was built for "
                  "another plug-in ABI version (this node speaks version "
                + std::to_string(plugin_abi_version) + ")");
  if (rc == -1)
    return fail(std::string{"its "} + plugin_entry_symbol
                + " returned -1 (registration failed)");
  if (rc != 0)
    return fail("registration failed with code " + std::to_string(rc));
  log::get("node")->info("loaded plug-in {}", path);
  return caf::none;
}

} // namespace mesh
