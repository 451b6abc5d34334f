#define CAF_SUITE cluster.grpc_health
#include "check.hpp"

// gRPC's standard health check (grpc.health.v1.Health) on the front door of
// a real meshnode: what load balancers and Kubernetes' gRPC probes ask.

#include <csignal>
#include <fstream>
#include <future>

#include <grpcpp/grpcpp.h>

#include "fixtures.hpp"
#include "grpc/front_door.hpp"
#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/health.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

struct check_result {
  grpc::Status status;
  HealthCheckResponse::ServingStatus serving = HealthCheckResponse::UNKNOWN;
};

check_result check(Health::Stub& stub, const std::string& service) {
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse res;
  auto ctx = context(); // no token: a probe has none
  check_result r;
  r.status = stub.Check(ctx.get(), req, &res);
  r.serving = res.status();
  return r;
}

} // namespace

CAF_TEST(the node and both services are serving and no token is asked) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process a{with_grpc({"--id", "a", "--console-token-file",
                            dir.file("token")})};
  auto stub = Health::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  for (const auto* name :
       {"", "collector.CollectiveDispatcher", "mesh.v1.Mesh"}) {
    auto r = check(*stub, name);
    MESH_CHECK_MSG(r.status.ok(), std::string{name} + ": "
                                    + r.status.error_message());
    CAF_CHECK_EQUAL(r.serving, HealthCheckResponse::SERVING);
  }
  // A name the node does not serve is NOT_FOUND, as the protocol says.
  auto unknown = check(*stub, "no.such.Service");
  CAF_CHECK_EQUAL(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);
  // A name too long for a service (gRPC's limit: 200 bytes) and one that
  // is not UTF-8 are INVALID_ARGUMENT, and the node lives on.
  CAF_CHECK_EQUAL(check(*stub, std::string(100000, 's')).status.error_code(),
                  grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(check(*stub, "caf\xc3").status.error_code(),
                  grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK_EQUAL(check(*stub, "").serving, HealthCheckResponse::SERVING);
  CAF_CHECK_EQUAL(a.terminate(), 0);
}

CAF_TEST(a watcher sees NOT_SERVING as soon as the node starts draining) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_test_handlers.so")})};
  auto channel = grpc::CreateChannel(a.grpc(),
                                     grpc::InsecureChannelCredentials());
  auto stub = Health::NewStub(channel);
  HealthCheckRequest req; // "": the node as a whole
  auto wctx = context();
  auto reader = stub->Watch(wctx.get(), req);
  HealthCheckResponse res;
  CAF_REQUIRE(reader->Read(&res));
  CAF_CHECK_EQUAL(res.status(), HealthCheckResponse::SERVING);
  // A call in flight holds the shutdown open (shutdown_grace_ms): the
  // change must come before it ends, not when the port closes after it.
  auto mesh = mesh::v1::Mesh::NewStub(channel);
  mesh::pb::DispatchRequest slow;
  slow.mutable_ref()->set_namespace_("test");
  slow.mutable_ref()->set_service("Faults");
  slow.mutable_ref()->set_method("Sleep");
  *slow.mutable_payload() = mesh::json_to_any({{"ms", 3000}});
  mesh::pb::DispatchResponse slow_res;
  auto sctx = context();
  std::promise<grpc::Status> slow_done;
  mesh->async()->Dispatch(sctx.get(), &slow, &slow_res,
                          [&](grpc::Status st) { slow_done.set_value(st); });
  // A quick call on the same channel after it: once answered, the slow one
  // has reached the node.
  auto quick = get_user();
  quick.mutable_ref()->set_namespace_("test");
  quick.mutable_ref()->set_service("Faults");
  quick.mutable_ref()->set_method("Echo");
  mesh::pb::DispatchResponse quick_res;
  auto qctx = context();
  auto qst = mesh->Dispatch(qctx.get(), quick, &quick_res);
  MESH_CHECK_MSG(qst.ok(), qst.error_message());
  CAF_REQUIRE_EQUAL(::kill(a.pid(), SIGTERM), 0);
  CAF_REQUIRE(reader->Read(&res));
  CAF_CHECK_EQUAL(res.status(), HealthCheckResponse::NOT_SERVING);
  auto slow_future = slow_done.get_future();
  CAF_CHECK(slow_future.wait_for(0s) == std::future_status::timeout);
  // A probe asking now hears the same; the call in flight still ends well.
  CAF_CHECK_EQUAL(check(*stub, "").serving, HealthCheckResponse::NOT_SERVING);
  auto slow_st = slow_future.get();
  MESH_CHECK_MSG(slow_st.ok(), slow_st.error_message());
  auto slept = mesh::any_to_json(slow_res.payload());
  CAF_REQUIRE(slept);
  CAF_CHECK_EQUAL((*slept)["slept_ms"], 3000);
  // Then the watch ends (the server goes away), well within its deadline.
  while (reader->Read(&res))
    CAF_CHECK_EQUAL(res.status(), HealthCheckResponse::NOT_SERVING);
  auto st = reader->Finish();
  CAF_CHECK_NOT_EQUAL(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  CAF_CHECK_EQUAL(a.wait_exit(), 0);
}

CAF_TEST_FIXTURE_SCOPE(door_in_process, actor_fixture)

CAF_TEST(the door leaves the process-wide health switch as it found it) {
  // A program that embeds a node builds its own gRPC servers too: they get
  // no health service from ours. set_draining() turns every name at once.
  CAF_REQUIRE(!grpc::DefaultHealthCheckServiceEnabled());
  mesh::grpc_front_door_config cfg;
  cfg.address = {"127.0.0.1", 0};
  cfg.node.sys = &sys;
  cfg.node.node_id = "embedded";
  mesh::grpc_front_door door{cfg};
  auto err = door.start();
  MESH_CHECK_MSG(!err, sys.render(err));
  CAF_CHECK(!grpc::DefaultHealthCheckServiceEnabled());
  auto stub = Health::NewStub(grpc::CreateChannel(
    mesh::to_string(door.address()), grpc::InsecureChannelCredentials()));
  CAF_CHECK_EQUAL(check(*stub, "mesh.v1.Mesh").serving,
                  HealthCheckResponse::SERVING);
  door.set_draining();
  for (const auto* name : {"", "mesh.v1.Mesh"})
    CAF_CHECK_EQUAL(check(*stub, name).serving,
                    HealthCheckResponse::NOT_SERVING);
  door.stop();
}

CAF_TEST_FIXTURE_SCOPE_END()
