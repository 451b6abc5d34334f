#define CAF_SUITE cluster.grpc_pipeline
#include "check.hpp"

// The dispatch pipeline guards the gRPC front door as any other way in, on
// a real meshnode with the pipeline test plug-in (tests/plugins/
// pipeline_handlers.cpp): a policy's refusing hook is 403 and
// PERMISSION_DENIED, its rate limit 429 and RESOURCE_EXHAUSTED, for the
// seed's Dispatch and for its Serve alike (a Serve used to reach the
// handler past the policies), and for meshctl's serve; mesh.v1's
// directives reach the pipeline (a dry run, skipped hooks). A failed
// call's details are the google.rpc.Status gRPC libraries decode.

#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "pipeline_cluster.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"

using namespace mesh::test;
using nlohmann::json;

namespace {

json guarded_policies() {
  return json::array(
    {{{"name", "write-guard"},
      {"match", "pipe/Svc/Write"},
      {"hooks", {"deny"}}},
     {{"name", "echo-limited"},
      {"match", "pipe/Svc/Echo"},
      {"rate_limit", {{"per_second", 0.05}, {"burst", 2}}}}});
}

// A node of the pipe handlers with a gRPC port and guarded_policies().
std::unique_ptr<node_process> start_guarded(const temp_dir& dir,
                                            const std::string& id) {
  return start_configured(
    dir, pipe_config(dir, id,
                     {{"plugins", {pipe_plugin()}},
                      {"grpc", {{"listen", "127.0.0.1:0"}}},
                      {"policies", guarded_policies()}}));
}

template <class Request>
Request pipe_request(const std::string& method) {
  Request req;
  req.set_namespace_("pipe");
  req.mutable_service()->set_service_name("Svc");
  req.set_method_name(method);
  *req.mutable_input() = mesh::json_to_any(json::object());
  return req;
}

struct outcome {
  grpc::Status status;
  int code = 0; ///< the seed's Status.code, from the answer or its details
};

// A call the pipeline refused with `code` (and `http`), naming `words`.
void check_refused(const outcome& o, grpc::StatusCode code, int http,
                   const std::string& words) {
  CAF_CHECK_EQUAL(o.status.error_code(), code);
  CAF_CHECK_EQUAL(o.code, http);
  MESH_CHECK_MSG(o.status.error_message().find(words) != std::string::npos,
                 o.status.error_message());
}

template <class Response, class Call>
outcome call_seed(Call call) {
  Response res;
  auto ctx = context();
  outcome out;
  out.status = call(ctx.get(), &res);
  if (!out.status.ok())
    CAF_CHECK(answer_of(out.status, res));
  out.code = res.status().code();
  return out;
}

} // namespace

CAF_TEST(policies and hooks guard the seed Dispatch and Serve alike) {
  temp_dir dir;
  auto node = start_guarded(dir, "g1");
  auto s = collector::CollectiveDispatcher::NewStub(
    grpc::CreateChannel(node->grpc(), grpc::InsecureChannelCredentials()));
  auto dispatch = [&](const std::string& method) {
    return call_seed<collector::DispatchResponse>(
      [&](grpc::ClientContext* ctx, collector::DispatchResponse* res) {
        auto req = pipe_request<collector::DispatchRequest>(method);
        return s->Dispatch(ctx, req, res);
      });
  };
  auto serve = [&](const std::string& method) {
    return call_seed<collector::ServeResponse>(
      [&](grpc::ClientContext* ctx, collector::ServeResponse* res) {
        return s->Serve(ctx, pipe_request<collector::ServeRequest>(method),
                        res);
      });
  };
  // meshctl serve METHOD fails, naming `words`.
  auto ctl_refused = [&](const std::string& method, const std::string& words) {
    auto r = meshctl(node->http(), {"serve", "pipe", "Svc", method});
    CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
    MESH_CHECK_MSG((r.out + r.err).find(words) != std::string::npos,
                   r.out << r.err);
  };
  // The deny hook refuses Write, whichever way it comes.
  for (const auto& denied : {dispatch("Write"), serve("Write")})
    check_refused(denied, grpc::StatusCode::PERMISSION_DENIED, 403,
                  "denied by test hook");
  ctl_refused("Write", "denied by test hook");
  // Echo's bucket holds two: a Serve and a Dispatch pass, the third waits
  // 20 s for its token, so it is refused.
  auto first = serve("Echo");
  MESH_CHECK_MSG(first.status.ok(), first.status.error_message());
  CAF_CHECK_EQUAL(first.code, 200);
  auto second = dispatch("Echo");
  MESH_CHECK_MSG(second.status.ok(), second.status.error_message());
  for (const auto& limited : {serve("Echo"), dispatch("Echo")})
    check_refused(limited, grpc::StatusCode::RESOURCE_EXHAUSTED, 429,
                  "echo-limited");
  ctl_refused("Echo", "echo-limited");
  // Write ran nowhere: the hook stopped every attempt before the handler.
  auto runs = meshctl_json(node->http(), {"serve", "pipe", "Svc", "Stats"});
  CAF_CHECK_EQUAL(runs["result"]["payload"]["runs"].value("Write", 0), 0);
}

CAF_TEST(mesh v1 directives reach the pipeline) {
  temp_dir dir;
  auto node = start_guarded(dir, "g2");
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(node->grpc(), grpc::InsecureChannelCredentials()));
  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("pipe");
  req.mutable_ref()->set_service("Svc");
  req.mutable_ref()->set_method("Write");
  *req.mutable_payload() = mesh::json_to_any(json::object());
  // A dry run still meets the deny hook (pre-hooks run), and says so.
  req.mutable_directives()->set_dry_run(true);
  mesh::pb::DispatchResponse res;
  auto ctx = context();
  auto st = s->Dispatch(ctx.get(), req, &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  CAF_REQUIRE(answer_of(st, res));
  CAF_CHECK_EQUAL(res.status().code(), mesh::pb::PERMISSION_DENIED);
  // Skipping the hook is the caller's wish the policy allows: the dry run
  // then names where it would run, and nothing runs.
  req.mutable_directives()->add_skip_hooks("deny");
  auto ctx2 = context();
  st = s->Dispatch(ctx2.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK(res.has_explain() && res.explain().dry_run());
  CAF_CHECK(res.status().message().find("would run on g2")
            != std::string::npos);
  auto runs = meshctl_json(node->http(), {"serve", "pipe", "Svc", "Stats"});
  CAF_CHECK_EQUAL(runs["result"]["payload"]["runs"].value("Write", 0), 0);
}
