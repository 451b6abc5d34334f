#include "node/plugin_loader.hpp"

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

} // namespace

std::string resolve_plugin_path(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return name;
  auto beside = executable_dir() + "/" + name;
  return file_exists(beside) ? beside : name;
}

caf::error load_plugin(const std::string& name, handler_registrar& registrar) {
  auto fail = [&](const std::string& why) {
    return make_error(status_code::invalid_argument,
                      "plug-in '" + name + "': " + why);
  };
  auto path = resolve_plugin_path(name);
  if (path.find('/') != std::string::npos && !file_exists(path))
    return fail("no such file");
  auto* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = ::dlerror();
    return fail(std::string{"cannot load: "} + (err ? err : "unknown error"));
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
  if (rc == -1)
    return fail("built for another plug-in ABI version (this node speaks "
                + std::to_string(plugin_abi_version) + ")");
  if (rc != 0)
    return fail("registration failed with code " + std::to_string(rc));
  log::get("node")->info("loaded plug-in {}", path);
  return caf::none;
}

} // namespace mesh
