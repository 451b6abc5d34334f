#pragma once

// A workflow run between the runner's JSON (workflows/runs/run_json.cpp)
// and mesh.v1's messages (RunWorkflow and GetRun of grpc/mesh_service.cpp).

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json.hpp>

#include "protocol/grpc/mesh_service.pb.h"

namespace mesh::grpc_door {

/// A JSON object as a protobuf Struct (anything else: an empty one).
google::protobuf::Struct to_struct(const nlohmann::json& j);

/// A protobuf Struct as a JSON object.
nlohmann::json struct_json(const google::protobuf::Struct& s);

/// A run as the runner describes it, or the answer of an async start
/// {"run_id", "trace_id", "status"}, into `out` (status ok).
void fill_run(const nlohmann::json& r, mesh::v1::Run* out);

} // namespace mesh::grpc_door
