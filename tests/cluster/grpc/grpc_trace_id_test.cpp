#define CAF_SUITE cluster.grpc_trace_id
#include "check.hpp"

// When the front door sends a call's trace id back as trailing metadata
// (x-mesh-trace-id): when the caller sent one (echoed), and with every
// failed call (the id the node made, to look the failure up by). A
// successful call whose caller sent none gets no such header: a unique
// value per call cost gRPC's encoder and the client's parser about a tenth
// of a local call. Real meshnode with the example plug-in, both services.

#include <cctype>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"

using namespace mesh::test;

namespace {

/// The x-mesh-trace-id the call ended with; empty when there was none.
std::string trailer(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerTrailingMetadata();
  auto i = md.find("x-mesh-trace-id");
  return i == md.end() ? std::string{}
                       : std::string(i->second.data(), i->second.size());
}

bool is_hex_id(const std::string& id) {
  if (id.size() != 32)
    return false;
  for (unsigned char c : id)
    if (!std::isxdigit(c))
      return false;
  return true;
}

collector::DispatchRequest get_user(const std::string& method) {
  collector::DispatchRequest req;
  req.set_namespace_("users");
  req.mutable_service()->set_service_name("UserService");
  req.set_method_name(method);
  *req.mutable_input() = mesh::json_to_any({{"id", "u-1"}});
  return req;
}

} // namespace

CAF_TEST(the trace id comes back with a callers id or a failed call) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto channel = grpc::CreateChannel(a.grpc(),
                                     grpc::InsecureChannelCredentials());
  auto seed = collector::CollectiveDispatcher::NewStub(channel);
  // Succeeded, no id sent: none back.
  collector::DispatchResponse res;
  auto ok_ctx = context();
  auto st = seed->Dispatch(ok_ctx.get(), get_user("GetUser"), &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 200);
  CAF_CHECK_EQUAL(trailer(*ok_ctx), "");
  // Failed, no id sent: the one the node made.
  auto failed_ctx = context();
  st = seed->Dispatch(failed_ctx.get(), get_user("NoSuchMethod"), &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  MESH_CHECK_MSG(is_hex_id(trailer(*failed_ctx)), trailer(*failed_ctx));
  // The same failure as a seed client that reads the body only: an OK
  // call, and still the id.
  auto body_ctx = context();
  body_ctx->AddMetadata("x-mesh-status-in-body", "1");
  st = seed->Dispatch(body_ctx.get(), get_user("NoSuchMethod"), &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 404);
  MESH_CHECK_MSG(is_hex_id(trailer(*body_ctx)), trailer(*body_ctx));
  // Succeeded with the caller's id, on Mesh's own service: echoed, and in
  // the body as well.
  auto mesh = mesh::v1::Mesh::NewStub(channel);
  mesh::pb::DispatchRequest mreq;
  mreq.mutable_ref()->set_namespace_("users");
  mreq.mutable_ref()->set_service("UserService");
  mreq.mutable_ref()->set_method("GetUser");
  *mreq.mutable_payload() = mesh::json_to_any({{"id", "u-1"}});
  mesh::pb::DispatchResponse mres;
  auto own_ctx = context();
  own_ctx->AddMetadata("x-mesh-trace-id", "0af7651916cd43dd8448eb211c80319c");
  st = mesh->Dispatch(own_ctx.get(), mreq, &mres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(trailer(*own_ctx), "0af7651916cd43dd8448eb211c80319c");
  CAF_CHECK_EQUAL(mres.trace_id(), "0af7651916cd43dd8448eb211c80319c");
  // Succeeded without one: none back, the node's in the body.
  auto plain_ctx = context();
  st = mesh->Dispatch(plain_ctx.get(), mreq, &mres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(trailer(*plain_ctx), "");
  MESH_CHECK_MSG(is_hex_id(mres.trace_id()), mres.trace_id());
}
