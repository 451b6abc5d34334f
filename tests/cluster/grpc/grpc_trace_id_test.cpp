#define CAF_SUITE cluster.grpc_trace_id
#include "check.hpp"

// When the front door sends a call's trace id back as trailing metadata
// (x-mesh-trace-id): when the caller sent one (echoed; for mesh.v1 the
// request body's id, when it has one, is the call's), and with a failed
// call that got as far as an id (the one the door made when the caller
// sent none), also one no actor answered. A successful call whose caller
// sent none gets no such header: a unique value per call cost gRPC's
// encoder and the client's parser 5-10 % of a local call. Real
// meshnode with the example plug-in (no workflows), both services.

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

collector::DispatchRequest seed_request(const std::string& method) {
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
  auto st = seed->Dispatch(ok_ctx.get(), seed_request("GetUser"), &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 200);
  CAF_CHECK_EQUAL(trailer(*ok_ctx), "");
  // Failed, no id sent: the one the node made.
  auto failed_ctx = context();
  st = seed->Dispatch(failed_ctx.get(), seed_request("NoSuchMethod"), &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  MESH_CHECK_MSG(is_hex_id(trailer(*failed_ctx)), trailer(*failed_ctx));
  // The same failure as a seed client that reads the body only: an OK
  // call, and still the id.
  auto body_ctx = context();
  body_ctx->AddMetadata("x-mesh-status-in-body", "1");
  st = seed->Dispatch(body_ctx.get(), seed_request("NoSuchMethod"), &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 404);
  MESH_CHECK_MSG(is_hex_id(trailer(*body_ctx)), trailer(*body_ctx));
  // Succeeded with the caller's id, on Mesh's own service: echoed, and in
  // the body as well.
  auto mesh = mesh::v1::Mesh::NewStub(channel);
  const std::string own = "0af7651916cd43dd8448eb211c80319c";
  mesh::pb::DispatchResponse own_res;
  auto own_ctx = context();
  own_ctx->AddMetadata("x-mesh-trace-id", own);
  st = mesh->Dispatch(own_ctx.get(), get_user(), &own_res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(trailer(*own_ctx), own);
  CAF_CHECK_EQUAL(own_res.trace_id(), own);
  // Succeeded without one: none back, the node's own in the body.
  mesh::pb::DispatchResponse plain_res;
  auto plain_ctx = context();
  st = mesh->Dispatch(plain_ctx.get(), get_user(), &plain_res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(trailer(*plain_ctx), "");
  MESH_CHECK_MSG(is_hex_id(plain_res.trace_id()), plain_res.trace_id());
  // Failed without one: the trailer names the id the answer carries.
  auto wrong = get_user();
  wrong.mutable_ref()->set_method("NoSuchMethod");
  mesh::pb::DispatchResponse failed_res;
  auto mfail_ctx = context();
  st = mesh->Dispatch(mfail_ctx.get(), wrong, &failed_res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_REQUIRE(answer_of(st, failed_res));
  MESH_CHECK_MSG(is_hex_id(trailer(*mfail_ctx)), trailer(*mfail_ctx));
  CAF_CHECK_EQUAL(trailer(*mfail_ctx), failed_res.trace_id());
  // Header and body both name one: the body's is the call's.
  auto both = get_user();
  both.set_trace_id("body-id-1");
  mesh::pb::DispatchResponse both_res;
  auto both_ctx = context();
  both_ctx->AddMetadata("x-mesh-trace-id", "header-id-1");
  st = mesh->Dispatch(both_ctx.get(), both, &both_res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(trailer(*both_ctx), "body-id-1");
  CAF_CHECK_EQUAL(both_res.trace_id(), "body-id-1");
  // Failed before any actor saw it (no workflow runner: no --workflows),
  // without an id: the door's own, in the trailer and the answer alike.
  mesh::v1::RunWorkflowRequest wreq;
  wreq.set_workflow("lookup");
  mesh::v1::Run run;
  auto run_ctx = context();
  st = mesh->RunWorkflow(run_ctx.get(), wreq, &run);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_REQUIRE(answer_of(st, run));
  MESH_CHECK_MSG(is_hex_id(trailer(*run_ctx)), trailer(*run_ctx));
  CAF_CHECK_EQUAL(trailer(*run_ctx), run.trace_id());
}
