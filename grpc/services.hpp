#pragma once

// The two services of the gRPC front door (grpc/front_door.hpp):
//   collector.CollectiveDispatcher  the seed's service (collector_service.cpp)
//   mesh.v1.Mesh                    Mesh's own API (mesh_service.cpp)
// Both answer every call exactly once, from a CAF actor: Dispatch and Serve
// through the front door's bridges (bridge.hpp), the rest from a short-lived
// actor each (call_support.hpp).

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "grpc/bridge.hpp"
#include "grpc/call_support.hpp"

namespace mesh::grpc_door {

std::unique_ptr<grpc::Service> make_collector_service(node_handles node,
                       std::shared_ptr<bridge_pool> bridges);

std::unique_ptr<grpc::Service> make_mesh_service(node_handles node,
                  std::shared_ptr<bridge_pool> bridges);

} // namespace mesh::grpc_door
