#pragma once

#include <caf/fwd.hpp>

namespace mesh {

/// Registers every Mesh message type (the block in protocol/messaging/type_ids.hpp) and
/// the `mesh` error category on `cfg`. Called by the node, meshctl and every
/// test config, before the actor system starts.
void register_types(caf::actor_system_config& cfg);

} // namespace mesh
