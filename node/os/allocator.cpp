#include "node/os/allocator.hpp"

#include <dlfcn.h>

#ifdef MESH_JEMALLOC
#  include <jemalloc/jemalloc.h>

// Freed pages go back to the system within about a second, not after
// jemalloc's default 10 s: a burst of large payloads (up to
// limits.max_payload_bytes each) should not leave the node's resident size
// up. One jemalloc thread does it, in batches: returning each page as it
// was freed (a decay of 0) cost an madvise and a TLB shootdown across cores
// per free, up to half of a busy node's CPU (BENCHMARKS.md, section of
// 2026-12-03). The thread sleeps while there is nothing to return.
// MALLOC_CONF overrides it.
const char* malloc_conf
  = "background_thread:true,max_background_threads:1,dirty_decay_ms:1000,"
    "muzzy_decay_ms:0";
#endif

namespace mesh {

std::string allocator_name() {
  // What `malloc` resolves to in this process.
  std::string lib;
  Dl_info info{};
  if (void* sym = ::dlsym(RTLD_DEFAULT, "malloc");
      sym != nullptr && ::dladdr(sym, &info) != 0 && info.dli_fname != nullptr)
    lib = info.dli_fname;
  auto has = [&lib](const char* part) {
    return lib.find(part) != std::string::npos;
  };
  if (has("jemalloc")) {
#ifdef MESH_JEMALLOC
    const char* version = nullptr;
    size_t size = sizeof(version);
    if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0)
          == 0
        && version != nullptr)
      return std::string{"jemalloc "} + version;
#endif
    return "jemalloc";
  }
  // GCC links ASan's runtime as libasan.so; clang links it into the binary.
  if (has("libasan") || ::dlsym(RTLD_DEFAULT, "__asan_init") != nullptr)
    return "AddressSanitizer's malloc";
  if (has("/libc.so") || has("/libc-"))
    return "glibc malloc";
  return lib.empty() ? "unknown" : lib;
}

} // namespace mesh
