#pragma once

// The names (caf::abstract_actor::name()) of the node's actors that code
// outside their own folder needs to tell apart: threads CAF does not own
// run some of them themselves (actors/inline_unit.hpp). The gRPC front door
// keeps the ones that wait on a disk off its threads; the data plane's
// thread runs only the router and the ingresses.

namespace mesh::actor_names {

inline constexpr const char* request_router = "mesh.request_router";
inline constexpr const char* peer_ingress = "mesh.peer_ingress";
inline constexpr const char* client_ingress = "mesh.client_ingress";
inline constexpr const char* task_dispatcher = "task_dispatcher";
inline constexpr const char* workflow_runner = "workflow_runner";

} // namespace mesh::actor_names
