#pragma once

// The one type-ID block of Mesh: every type that crosses a node boundary in a
// CAF message. Both ends of a connection must register the same names, so
// append new types at the end and never reorder. `register_types` (in
// protocol/messaging/register.hpp) loads this block into an actor_system_config.

#include <caf/type_id.hpp>

#include "protocol/messaging/atoms.hpp"
#include "protocol/messaging/peer_actors.hpp"
#include "protocol/messaging/proto_inspect.hpp"

CAF_PUSH_WARNINGS
#include "protocol/mesh.pb.h"
CAF_POP_WARNINGS

CAF_BEGIN_TYPE_ID_BLOCK(mesh, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(mesh, (google::protobuf::Any))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::Status))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServiceRef))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServeRequest))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServeResponse))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::DispatchRequest))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::DispatchResponse))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::MethodInfo))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServiceAnnouncement))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::Member))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ConnectRequest))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ConnectResponse))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::Heartbeat))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::Leave))
  CAF_ADD_TYPE_ID(mesh, (mesh::peer_actor))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ProcessRequest))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ProcessResponse))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::OutcomeReport))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::BanditEvidence))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::PublishRequest))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::PublishResponse))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::TopicRoutes))
  CAF_ADD_TYPE_ID(mesh, (mesh::client_actor))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::TaskHeartbeat))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServeBatch))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::ServeReplies))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::PublishBatch))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::PublishReplies))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::DispatchBatch))
  CAF_ADD_TYPE_ID(mesh, (mesh::pb::DispatchReplies))

CAF_END_TYPE_ID_BLOCK(mesh)
