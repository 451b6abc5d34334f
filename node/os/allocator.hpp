#pragma once

// Which malloc the running meshnode allocates with: jemalloc when it was built
// with MESH_JEMALLOC (the default), glibc's otherwise (sanitizer builds, or
// -DMESH_JEMALLOC=OFF). Part of meshnode only, not of the mesh_node library:
// a program that embeds a node chooses its own allocator.

#include <string>

namespace mesh {

/// The allocator in words for --version and the start log, e.g.
/// "jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c" or "glibc
/// malloc". Asks jemalloc itself (mallctl "version"), so a build that links
/// it but runs without it (an LD_PRELOAD of another malloc) says so. Never
/// throws.
std::string allocator_name();

} // namespace mesh
