#include "node/os/grpc_door_loader.hpp"

#include <cstring>
#include <string>

#include <dlfcn.h>
#include <link.h>

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
  if (::dladdr(self, &info) == 0 || info.dli_fname == nullptr)
    return {};
  std::string here = info.dli_fname;
  auto slash = here.rfind('/');
  return slash == std::string::npos
           ? std::string{}
           : here.substr(0, slash + 1) + "libmesh_grpc.so";
}

// Why `entry` (the library's mesh_grpc_door_entry) does not fit this node;
// empty when it does. Its size is read first: an entry of another layout
// is not read at all.
std::string misfit(const grpc_door_entry* entry) {
  Dl_info info{};
  void* found = nullptr; // the entry's ElfW(Sym)
  if (::dladdr1(entry, &info, &found, RTLD_DL_SYMENT) == 0
      || found == nullptr
      || static_cast<const ElfW(Sym)*>(found)->st_size
           != sizeof(grpc_door_entry))
    return "its entry is of another Mesh build";
  if (entry->version == nullptr
      || std::strcmp(entry->version, mesh_version) != 0)
    return std::string{"it is of Mesh "}
           + (entry->version != nullptr ? entry->version : "(unknown)")
           + ", this node of Mesh " + mesh_version;
  if (entry->config_size != sizeof(grpc_front_door_config))
    return "it is of another build of Mesh " + std::string{mesh_version}
           + " (its door's settings take " + std::to_string(entry->config_size)
           + " bytes, this node's "
           + std::to_string(sizeof(grpc_front_door_config)) + ")";
  return {};
}

opened open_once() {
  auto path = library_path();
  if (path.empty())
    return {nullptr, "cannot open the gRPC door's library: the folder "
                     "libmesh_node.so was loaded from is unknown"};
  auto fail = [&path](std::string why) {
    // The loader's words start with the path already.
    if (why.rfind(path + ": ", 0) == 0)
      why.erase(0, path.size() + 2);
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
  if (auto why = misfit(entry); !why.empty())
    return fail(why);
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
