#include "node/os/allocator.hpp"

#ifdef MESH_JEMALLOC
#  include <jemalloc/jemalloc.h>
#endif

namespace mesh {

std::string allocator_name() {
#ifdef MESH_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0
      && version != nullptr)
    return std::string{"jemalloc "} + version;
  return "jemalloc (version unknown)";
#else
  return "glibc malloc";
#endif
}

} // namespace mesh
