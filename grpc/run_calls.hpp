#pragma once

// mesh.v1.Mesh's workflow calls (RunWorkflow, GetRun, CancelRun, ListRuns),
// each answered by the node's workflow runner through the bridge, and a
// run between the runner's JSON (workflows/runs/run_json.cpp) and mesh.v1's
// messages.

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json.hpp>

#include "grpc/bridge.hpp"
#include "grpc/call_support.hpp"
#include "grpc/node_handles.hpp"
#include "protocol/grpc/mesh_service.pb.h"

namespace mesh::grpc_door {

/// Starts a run and waits for it (wait_ms, else the call's deadline), or
/// answers at once with its id (async).
void run_workflow(bridge& hop, const node_handles& node, call c,
                  mesh::v1::RunWorkflowRequest* in, mesh::v1::Run* out);

/// One run by id, as the runner shows it.
void get_run(bridge& hop, const node_handles& node, call c,
             mesh::v1::GetRunRequest* in, mesh::v1::Run* out);

/// Cancels a run; answered once it has ended (compensations done), or
/// DEADLINE_EXCEEDED when that takes longer than wait_ms (the run is still
/// being cancelled).
void cancel_run(bridge& hop, const node_handles& node, call c,
                mesh::v1::CancelRunRequest* in, mesh::v1::Run* out);

/// Runs, newest first, by workflow and status.
void list_runs(bridge& hop, const node_handles& node, call c,
               mesh::v1::ListRunsRequest* in, mesh::v1::ListRunsResponse* out);

/// A JSON object as a protobuf Struct (anything else: an empty one).
google::protobuf::Struct to_struct(const nlohmann::json& j);

/// A protobuf Struct as a JSON object.
nlohmann::json struct_json(const google::protobuf::Struct& s);

/// A run as the runner describes it (or its summary in a list, or the
/// answer of an async start {"run_id", "trace_id", "status"}) into `out`
/// (status ok).
void fill_run(const nlohmann::json& r, mesh::v1::Run* out);

} // namespace mesh::grpc_door
