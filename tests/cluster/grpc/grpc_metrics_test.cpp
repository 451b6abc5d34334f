#define CAF_SUITE cluster.grpc_metrics
#include "check.hpp"

// The gRPC front door's calls, counted by method and by the gRPC code each
// ended with, as a real meshnode shows them: /metrics (the families
// go-grpc-prometheus names), the console's status and `meshctl status`.

#include <fstream>
#include <future>

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/address.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string token = "s3cret-token";

/// GET `path` of the node's HTTP API with the token; the body ("" when
/// the node does not answer 200).
std::string get(const std::string& http, const std::string& path) {
  std::string error;
  auto hp = mesh::parse_host_port(http, error);
  httplib::Client cli{hp->host, hp->port};
  cli.set_read_timeout(30, 0);
  auto r = cli.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  return r && r->status == 200 ? r->body : std::string{};
}

/// The status' grpc_calls row of mesh.v1.Mesh `method` (null: none).
json row_of(const std::string& http, const std::string& method) {
  auto doc = json::parse(get(http, "/v1/status"), nullptr, false);
  if (!doc.is_object())
    return nullptr;
  for (const auto& row : doc["result"].value("grpc_calls", json::array()))
    if (row.value("service", "") == "mesh.v1.Mesh"
        && row.value("method", "") == method)
      return row;
  return nullptr;
}

bool has_line(const std::string& page, const std::string& line) {
  return ("\n" + page).find("\n" + line + "\n") != std::string::npos;
}

mesh::pb::DispatchRequest faults(const std::string& method, json payload) {
  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("test");
  req.mutable_ref()->set_service("Faults");
  req.mutable_ref()->set_method(method);
  *req.mutable_payload() = mesh::json_to_any(payload);
  return req;
}

grpc::Status call(mesh::v1::Mesh::Stub& stub,
                  const mesh::pb::DispatchRequest& req,
                  const std::string& with_token = token) {
  mesh::pb::DispatchResponse res;
  auto ctx = context(with_token);
  return stub.Dispatch(ctx.get(), req, &res);
}

} // namespace

CAF_TEST(calls are counted by method and code on metrics and in status) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << token << "\n";
  node_process a{with_grpc({"--id", "a", "--console-token-file",
                            dir.file("token"), "--plugin",
                            bin("libmesh_test_handlers.so")})};
  auto channel = grpc::CreateChannel(a.grpc(),
                                     grpc::InsecureChannelCredentials());
  auto stub = mesh::v1::Mesh::NewStub(channel);
  // Nothing yet: every method listed, nothing started.
  auto before = row_of(a.http(), "Dispatch");
  CAF_REQUIRE(before.is_object());
  CAF_CHECK_EQUAL(before["started"], 0);
  // Two that succeed, one without the token, one unknown method.
  auto echo = faults("Echo", {{"word", "hi"}});
  CAF_CHECK(call(*stub, echo).ok());
  CAF_CHECK(call(*stub, echo).ok());
  CAF_CHECK_EQUAL(call(*stub, echo, "").error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
  CAF_CHECK_EQUAL(call(*stub, faults("Nope", {})).error_code(),
                  grpc::StatusCode::NOT_FOUND);
  // A body that is no message at all.
  CAF_CHECK_EQUAL(
    raw_call(channel, "/mesh.v1.Mesh/Dispatch", "\xff\xff\xff", token)
      .error_code(),
    grpc::StatusCode::INVALID_ARGUMENT);
  // The seed's service is counted under its own name.
  auto seed = collector::CollectiveDispatcher::NewStub(channel);
  collector::DispatchRequest sreq;
  sreq.set_namespace_("test");
  sreq.mutable_service()->set_service_name("Faults");
  sreq.set_method_name("Echo");
  *sreq.mutable_input() = mesh::json_to_any({{"word", "seed"}});
  collector::DispatchResponse sres;
  auto sctx = context(token);
  CAF_CHECK(seed->Dispatch(sctx.get(), sreq, &sres).ok());
  // A call in flight shows as one until it is answered.
  // Long enough for the probe and a meshctl run under the sanitizers.
  auto slow = faults("Sleep", {{"ms", 4000}});
  mesh::pb::DispatchResponse slow_res;
  auto slow_ctx = context(token);
  std::promise<grpc::Status> slow_done;
  stub->async()->Dispatch(slow_ctx.get(), &slow, &slow_res,
                          [&](grpc::Status st) { slow_done.set_value(st); });
  CAF_CHECK(await_condition([&] {
    auto row = row_of(a.http(), "Dispatch");
    return row.is_object() && row["in_flight"] == 1;
  }));
  auto human = meshctl(a.http(), {"--token", token, "status"}, true);
  MESH_CHECK_MSG(human.out.find("grpc:       7 calls (3 OK, 1 in flight)")
                   != std::string::npos,
                 human.out);
  auto slow_st = slow_done.get_future().get();
  MESH_CHECK_MSG(slow_st.ok(), slow_st.error_message());
  auto page = get(a.http(), "/metrics");
  const std::string mesh_dispatch
    = "{grpc_service=\"mesh.v1.Mesh\",grpc_method=\"Dispatch\"";
  for (const auto& line : std::vector<std::string>{
         "mesh_grpc_server_started_total" + mesh_dispatch + "} 6",
         "mesh_grpc_server_in_flight" + mesh_dispatch + "} 0",
         "mesh_grpc_server_handling_seconds_count" + mesh_dispatch + "} 6",
         "mesh_grpc_server_handled_total" + mesh_dispatch
           + ",grpc_code=\"OK\"} 3",
         "mesh_grpc_server_handled_total" + mesh_dispatch
           + ",grpc_code=\"UNAUTHENTICATED\"} 1",
         "mesh_grpc_server_handled_total" + mesh_dispatch
           + ",grpc_code=\"NOT_FOUND\"} 1",
         "mesh_grpc_server_handled_total" + mesh_dispatch
           + ",grpc_code=\"INVALID_ARGUMENT\"} 1",
         std::string{"mesh_grpc_server_handled_total{grpc_service="}
           + "\"collector.CollectiveDispatcher\",grpc_method=\"Dispatch\","
           + "grpc_code=\"OK\"} 1",
         std::string{"mesh_grpc_server_started_total{grpc_service="}
           + "\"mesh.v1.Mesh\",grpc_method=\"Process\"} 0"}) {
    MESH_CHECK_MSG(has_line(page, line), line << " not in\n" << page);
  }
  CAF_CHECK(page.find("grpc_code=\"DEADLINE_EXCEEDED\"") == std::string::npos);
  // The slow call took its 4 s: the longest Dispatch did.
  auto row = row_of(a.http(), "Dispatch");
  CAF_REQUIRE(row.is_object());
  CAF_CHECK_GREATER_OR_EQUAL(row["latency"]["max_us"].get<double>(), 4e6);
  CAF_CHECK_EQUAL(a.terminate(), 0);
}

CAF_TEST(a node without a gRPC door shows no gRPC calls) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << token << "\n";
  node_process a{{"--id", "plain", "--console-token-file",
                  dir.file("token")}};
  auto page = get(a.http(), "/metrics");
  CAF_REQUIRE(!page.empty());
  CAF_CHECK(page.find("mesh_grpc_") == std::string::npos);
  auto status = json::parse(get(a.http(), "/v1/status"), nullptr, false);
  CAF_REQUIRE(status.is_object());
  CAF_CHECK(!status["result"].contains("grpc_calls"));
  auto human = meshctl(a.http(), {"--token", token, "status"}, true);
  CAF_CHECK(human.out.find("grpc:") == std::string::npos);
  CAF_CHECK_EQUAL(a.terminate(), 0);
}
