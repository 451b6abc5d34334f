#pragma once

// The two services of the gRPC front door (grpc/front_door.hpp):
//   collector.CollectiveDispatcher  the seed's service (collector_service.cpp)
//   mesh.v1.Mesh                    Mesh's own API (mesh_service.cpp)
// Both answer every call exactly once, from a CAF actor (call_support.hpp).

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "grpc/call_support.hpp"

namespace mesh::grpc_door {

std::unique_ptr<grpc::Service> make_collector_service(node_handles node);

std::unique_ptr<grpc::Service> make_mesh_service(node_handles node);

} // namespace mesh::grpc_door
