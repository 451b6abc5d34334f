#include "node/os/grpc_door_loader.hpp"

#include <mutex>
#include <string>

#include <dlfcn.h>
#include <unistd.h>

#include "protocol/status.hpp"

namespace mesh {

namespace {

constexpr char library[] = "libmesh_grpc.so";

// Beside this library (libmesh_node.so) when it is there; the bare name
// otherwise, for the dynamic loader's search path.
std::string library_path() {
  Dl_info info{};
  auto* self = reinterpret_cast<void*>(&open_grpc_door);
  if (::dladdr(self, &info) != 0 && info.dli_fname != nullptr) {
    std::string here = info.dli_fname;
    auto slash = here.rfind('/');
    if (slash != std::string::npos) {
      auto beside = here.substr(0, slash + 1) + library;
      if (::access(beside.c_str(), R_OK) == 0)
        return beside;
    }
  }
  return library;
}

struct opened {
  const grpc_door_entry* entry = nullptr;
  std::string error;
};

opened open_once() {
  auto path = library_path();
  auto fail = [&path](const char* what) {
    const char* why = ::dlerror();
    return opened{nullptr, "cannot open the gRPC door's library " + path
                             + " (" + what + "): "
                             + (why != nullptr ? why : "unknown error")};
  };
  auto* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr)
    return fail("dlopen");
  auto* sym = ::dlsym(lib, grpc_door_entry_symbol);
  if (sym == nullptr)
    return fail(grpc_door_entry_symbol);
  return {static_cast<const grpc_door_entry*>(sym), {}};
}

} // namespace

caf::expected<const grpc_door_entry*> open_grpc_door() {
  static std::once_flag once;
  static opened result;
  std::call_once(once, [] { result = open_once(); });
  if (result.entry == nullptr)
    return make_error(status_code::unavailable, result.error);
  return result.entry;
}

} // namespace mesh
