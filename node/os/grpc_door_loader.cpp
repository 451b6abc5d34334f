#include "node/os/grpc_door_loader.hpp"

#include <cstring>
#include <string>

#include <dlfcn.h>

#include "grpc/front_door.hpp"
#include "protocol/status.hpp"
#include "protocol/version.hpp"

namespace mesh {

namespace {

struct opened {
  const grpc_door_entry* entry = nullptr;
  std::string error;
};

// Beside this library (libmesh_node.so), where the build and the install
// put it, and nowhere else: another folder may hold another build's.
std::string library_path() {
  Dl_info info{};
  auto* self = reinterpret_cast<void*>(&open_grpc_door);
  std::string here;
  if (::dladdr(self, &info) != 0 && info.dli_fname != nullptr)
    here = info.dli_fname;
  auto slash = here.rfind('/');
  return (slash == std::string::npos ? std::string{"./"}
                                     : here.substr(0, slash + 1))
         + "libmesh_grpc.so";
}

opened open_once() {
  auto path = library_path();
  auto fail = [&path](const std::string& why) {
    return opened{nullptr,
                  "cannot open the gRPC door's library " + path + ": " + why};
  };
  auto* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return fail(why != nullptr ? why : "unknown error");
  }
  const auto* entry = static_cast<const grpc_door_entry*>(
    ::dlsym(lib, grpc_door_entry_symbol));
  if (entry == nullptr)
    return fail(std::string{"it has no "} + grpc_door_entry_symbol);
  if (entry->version == nullptr
      || std::strcmp(entry->version, mesh_version) != 0
      || entry->config_size != sizeof(grpc_front_door_config))
    return fail(std::string{"it was built for another Mesh (version "}
                + (entry->version != nullptr ? entry->version : "unknown")
                + ", this node " + mesh_version + ")");
  return {entry, {}};
}

} // namespace

caf::expected<const grpc_door_entry*> open_grpc_door() {
  static const opened result = open_once(); // thread-safe, once
  if (result.entry == nullptr)
    return make_error(status_code::unavailable, result.error);
  return result.entry;
}

} // namespace mesh
