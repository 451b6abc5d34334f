#pragma once

// Which malloc the running meshnode allocates with. meshnode links jemalloc
// when built with MESH_JEMALLOC (the default; not with the sanitizers, which
// bring their own). Part of meshnode only, not of the mesh_node library (and
// not installed): a program that embeds a node chooses its own allocator.

#include <string>

namespace mesh {

/// The allocator in words for --version and the start log: "jemalloc
/// 5.3.0-0-g54ea...", "glibc malloc", "AddressSanitizer's malloc", or the
/// file of whatever library answers `malloc` (an LD_PRELOAD of another
/// allocator is named as such). Asks the dynamic linker which library
/// `malloc` resolves to, not the build. Never throws.
std::string allocator_name();

} // namespace mesh
