#pragma once

// Opens libmesh_grpc.so for a node configured with grpc.listen (see
// grpc/door_entry.hpp for why the node does not link it): from the folder
// libmesh_node.so was loaded from, where the build and the install put it,
// and only there; a library of another build (its entry says which) is
// refused. Opened once per process and never closed. Thread-safe.

#include <caf/expected.hpp>

#include "grpc/door_entry.hpp"

namespace mesh {

/// The library's entry, or an `unavailable` error naming the file and why
/// (the dynamic loader's own words when it could not load it).
caf::expected<const grpc_door_entry*> open_grpc_door();

} // namespace mesh
