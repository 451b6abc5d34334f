#define CAF_SUITE cluster.grpc_runs
#include "check.hpp"

// mesh.v1.Mesh's CancelRun and ListRuns against a real meshnode whose
// workflows sleep (the test plug-in's test/Faults/Sleep): a run started
// over gRPC is listed, cancelled, and refused a second cancel; bad names,
// statuses and limits are answered in Mesh's words; a cancel that takes
// longer than wait_ms says the run is still being cancelled.

#include <filesystem>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

bool has(const std::string& text, const std::string& phrase) {
  return text.find(phrase) != std::string::npos;
}

struct runs_fixture {
  temp_dir dir;
  std::unique_ptr<node_process> node;
  std::unique_ptr<mesh::v1::Mesh::Stub> stub;

  runs_fixture() {
    std::filesystem::create_directories(dir.file("workflows"));
    // A step that sleeps far longer than the test: only a cancel ends it.
    dir.write("workflows/slow.json", R"({
      "name": "slow", "mode": "sequential",
      "steps": [{"id": "nap", "call": "test/Faults/Sleep",
                 "params": {"ms": 60000}}]})");
    // The same after a step whose undoing takes 3 s.
    dir.write("workflows/slow_undo.json", R"({
      "name": "slow_undo", "mode": "sequential",
      "steps": [{"id": "first", "call": "test/Faults/Echo",
                 "params": {"x": 1},
                 "compensate": {"call": "test/Faults/Sleep",
                                "params": {"ms": 3000}}},
                {"id": "nap", "call": "test/Faults/Sleep",
                 "params": {"ms": 60000}}]})");
    node = std::make_unique<node_process>(with_grpc(
      {"--id", "a", "--plugin", bin("libmesh_test_handlers.so"),
       "--namespaces", "test", "--workflows", dir.file("workflows"),
       "--data-dir", dir.file("data")}));
    stub = mesh::v1::Mesh::NewStub(
      grpc::CreateChannel(node->grpc(), grpc::InsecureChannelCredentials()));
  }

  // Starts `workflow` without waiting for it: its run id.
  std::string start(const std::string& workflow) {
    mesh::v1::RunWorkflowRequest req;
    req.set_workflow(workflow);
    req.set_async(true);
    mesh::v1::Run run;
    auto ctx = context();
    auto st = stub->RunWorkflow(ctx.get(), req, &run);
    MESH_CHECK_MSG(st.ok(), st.error_message());
    CAF_CHECK_EQUAL(run.run_status(), "running");
    return run.run_id();
  }

  grpc::Status list(const std::string& workflow, const std::string& status,
                    uint32_t limit, mesh::v1::ListRunsResponse& out) {
    mesh::v1::ListRunsRequest req;
    req.set_workflow(workflow);
    req.set_run_status(status);
    req.set_limit(limit);
    auto ctx = context();
    return stub->ListRuns(ctx.get(), req, &out);
  }

  // True once run `id`'s step `step` is `status` (GetRun's detail).
  bool step_is(const std::string& id, const std::string& step,
               const std::string& status) {
    mesh::v1::GetRunRequest req;
    req.set_run_id(id);
    mesh::v1::Run run;
    auto ctx = context();
    if (!stub->GetRun(ctx.get(), req, &run).ok())
      return false;
    google::protobuf::Value detail;
    *detail.mutable_struct_value() = run.detail();
    auto doc = mesh::value_to_json(detail);
    for (const auto& x : doc.value("steps", nlohmann::json::array()))
      if (x.value("id", "") == step && x.value("status", "") == status)
        return true;
    return false;
  }

  grpc::Status cancel(const std::string& id, mesh::v1::Run& out,
                      uint32_t wait_ms = 0) {
    mesh::v1::CancelRunRequest req;
    req.set_run_id(id);
    req.set_wait_ms(wait_ms);
    auto ctx = context();
    return stub->CancelRun(ctx.get(), req, &out);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(grpc_runs, runs_fixture)

CAF_TEST(a run started over gRPC is listed and cancelled once) {
  auto id = start("slow");
  CAF_REQUIRE(!id.empty());
  mesh::v1::ListRunsResponse listed;
  auto st = list("slow", "running", 0, listed);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_REQUIRE_EQUAL(listed.runs_size(), 1);
  CAF_CHECK_EQUAL(listed.runs(0).run_id(), id);
  CAF_CHECK_EQUAL(listed.runs(0).workflow(), "slow");
  CAF_CHECK_EQUAL(listed.runs(0).run_status(), "running");
  // The runner's summary rides along whole.
  CAF_CHECK(listed.runs(0).detail().fields().count("started_ms") == 1);
  mesh::v1::Run run;
  st = cancel(id, run);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(run.run_id(), id);
  CAF_CHECK_EQUAL(run.run_status(), "cancelled");
  CAF_CHECK(has(run.error(), "cancelled"));
  // Once ended, a second cancel is refused and changes nothing.
  mesh::v1::Run again;
  st = cancel(id, again);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(has(st.error_message(), "has already ended"));
  st = list("", "cancelled", 0, listed);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_REQUIRE_EQUAL(listed.runs_size(), 1);
  CAF_CHECK_EQUAL(listed.runs(0).run_id(), id);
  st = list("", "running", 0, listed);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(listed.runs_size(), 0);
  // The limit keeps the newest.
  auto second = start("slow");
  st = list("slow", "", 1, listed);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_REQUIRE_EQUAL(listed.runs_size(), 1);
  CAF_CHECK_EQUAL(listed.runs(0).run_id(), second);
  st = cancel(second, run);
  MESH_CHECK_MSG(st.ok(), st.error_message());
}

CAF_TEST(bad run ids statuses and limits get Mesh answers) {
  mesh::v1::Run run;
  auto st = cancel("", run);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(has(st.error_message(), "CancelRun needs \"run_id\""));
  st = cancel("no-such-run", run);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK(has(st.error_message(), "no-such-run"));
  st = cancel(std::string(100000, 'r'), run);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK_LESS_OR_EQUAL(st.error_message().size(), 515u);
  mesh::v1::ListRunsResponse listed;
  st = list("", "sleeping", 0, listed);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(has(st.error_message(), "running, success, failed"));
  st = list("", "", 10001, listed);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(has(st.error_message(), "\"limit\" must be an integer"));
  // A workflow nobody runs lists nothing; the node is still there.
  st = list("nobody", "", 0, listed);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(listed.runs_size(), 0);
}

CAF_TEST(a cancel slower than wait_ms says the run is still being cancelled) {
  auto id = start("slow_undo");
  // The cancel undoes `first` (3 s) once `nap` is under way.
  CAF_REQUIRE(await_condition([&] { return step_is(id, "nap", "running"); }));
  mesh::v1::Run run;
  auto st = cancel(id, run, 300);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  CAF_CHECK(has(st.error_message(), "still being cancelled"));
  CAF_CHECK(has(st.error_message(), id));
}

CAF_TEST_FIXTURE_SCOPE_END()
