#pragma once

// Opens libmesh_grpc.so for a node configured with grpc.listen (see
// grpc/door_entry.hpp for why the node does not link it): from the folder
// libmesh_node.so was loaded from, where the build and the install put it,
// or else wherever the dynamic loader finds it. Opened once per process and
// never closed. Thread-safe.

#include <caf/expected.hpp>

#include "grpc/door_entry.hpp"

namespace mesh {

/// The library's entry, or an `unavailable` error naming the file and the
/// loader's own words.
caf::expected<const grpc_door_entry*> open_grpc_door();

} // namespace mesh
