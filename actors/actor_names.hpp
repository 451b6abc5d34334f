#pragma once

// The names (caf::abstract_actor::name()) of the node's actors that code
// outside their own folder needs to tell apart: the gRPC front door keeps
// the ones that wait on a disk off its threads (grpc/inline_unit.hpp).

namespace mesh::actor_names {

inline constexpr const char* task_dispatcher = "task_dispatcher";
inline constexpr const char* workflow_runner = "workflow_runner";

} // namespace mesh::actor_names
