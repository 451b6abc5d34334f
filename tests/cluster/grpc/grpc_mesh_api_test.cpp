#define CAF_SUITE cluster.grpc_mesh_api
#include "check.hpp"

// mesh.v1.Mesh beyond Dispatch and Process, against one real meshnode that
// runs the README's examples (manifests, jobs and the example plug-in's
// topic routes) and a one-step workflow of its own: Publish,
// Emit, RunWorkflow, GetRun and Outcome answer with what the node did, as
// meshctl would show it.

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

std::string examples(const std::string& folder) {
  return std::string{MESH_SOURCE_DIR} + "/examples/" + folder;
}

} // namespace

CAF_TEST(Publish Emit RunWorkflow GetRun and Outcome answer over gRPC) {
  temp_dir dir;
  // One step and no step timeout: a slow sanitizer run still succeeds.
  std::filesystem::create_directories(dir.file("workflows"));
  dir.write("workflows/lookup.json", R"({
    "name": "lookup", "mode": "sequential",
    "steps": [{"id": "get", "call": "users/UserService/GetUser",
               "params": {"id": "${input.id}"}}],
    "output": {"name": "${steps.get.output.name}"}})");
  node_process a{with_grpc(
    {"--id", "a", "--plugin", bin("libmesh_example_handlers.so"),
     "--manifests", examples("manifests"), "--workflows",
     dir.file("workflows"), "--jobs", examples("jobs"), "--data-dir",
     dir.file("data")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  // Publish: the plug-in's routes run the auditor and the notifier, whose
  // output runs the outbox.
  mesh::pb::PublishRequest pub;
  pub.set_topic("orders.eu.created");
  pub.set_message_type("OrderCreated");
  mesh::json_to_value({{"order_id", "o-1"}, {"user_id", "u-1"}},
                      *pub.mutable_payload());
  mesh::pb::PublishResponse pres;
  auto pctx = context();
  auto st = s->Publish(pctx.get(), pub, &pres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(pres.status(), "success");
  CAF_CHECK(!pres.trace_id().empty());
  // Emit: an order request becomes a task of create-order.
  mesh::v1::EmitRequest emit;
  auto* ev = emit.add_events();
  ev->set_dataset("order-requests");
  ev->set_cursor(1);
  mesh::json_to_value({{"sku", "book"}, {"qty", 1}}, *ev->mutable_payload());
  mesh::v1::EmitResponse eres;
  auto ectx = context();
  st = s->Emit(ectx.get(), emit, &eres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(eres.created(), 1u);
  CAF_REQUIRE_EQUAL(eres.task_ids_size(), 1);
  CAF_CHECK_EQUAL(eres.task_ids(0), "create-order:order-requests::1");
  // The same event again creates nothing.
  auto ectx2 = context();
  st = s->Emit(ectx2.get(), emit, &eres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(eres.created(), 0u);
  CAF_CHECK_EQUAL(eres.skipped(), 1u);
  // A refused RunWorkflow (a name and a definition) starts nothing; then
  // one that waits for its run, which GetRun finds by id. The runner takes
  // its messages in order: a run the refusal had started would come first.
  mesh::v1::RunWorkflowRequest run;
  run.set_workflow("lookup");
  mesh::json_to_value({{"id", "u-1"}}, *run.mutable_input());
  auto both = run;
  (*both.mutable_definition()->mutable_fields())["name"].set_string_value(
    "lookup");
  mesh::v1::Run done;
  auto bctx = context();
  st = s->RunWorkflow(bctx.get(), both, &done);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto rctx = context();
  st = s->RunWorkflow(rctx.get(), run, &done);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(done.workflow(), "lookup");
  CAF_CHECK_EQUAL(done.run_status(), "success");
  CAF_CHECK_EQUAL(mesh::value_to_json(done.output()),
                  nlohmann::json({{"name", "Ada Lovelace"}}));
  auto runs = meshctl_json(a.http(), {"runs"});
  CAF_CHECK_EQUAL(runs["result"].value("runs", nlohmann::json::array()).size(),
                  1u);
  CAF_REQUIRE(!done.run_id().empty());
  mesh::v1::GetRunRequest get;
  get.set_run_id(done.run_id());
  mesh::v1::Run again;
  auto gctx = context();
  st = s->GetRun(gctx.get(), get, &again);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(again.run_id(), done.run_id());
  CAF_CHECK_EQUAL(again.run_status(), "success");
  // Outcome: evidence for a bandit's variant; an unknown one is NOT_FOUND.
  mesh::pb::OutcomeReport report;
  report.set_process_name("recommendations");
  report.set_variant_id("personal");
  report.set_success(true);
  mesh::v1::OutcomeResponse ores;
  auto octx = context();
  st = s->Outcome(octx.get(), report, &ores);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  report.set_variant_id("nobody");
  auto octx2 = context();
  st = s->Outcome(octx2.get(), report, &ores);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK(st.error_message().find("nobody") != std::string::npos);
}

CAF_TEST(a Publish with deadline_ms ends at it with the parts that ran longer) {
  // test-sleep sleeps 3 s, well within the 8 s dispatcher timeout: only the
  // request's 300 ms turn its part into a timeout.
  temp_dir dir;
  nlohmann::json cfg{
    {"plugins", {bin("libmesh_test_handlers.so")}},
    {"topics",
     {{"dispatcher_timeout_ms", 8000},
      {"routes",
       {{{"id", "sleepy"}, {"pattern", "slow.>"}, {"category", "event"},
         {"dispatcher", "test-sleep"}}}}}}};
  node_process a{with_grpc({"--id", "a", "--config",
                            dir.write("a.json", cfg.dump())})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  mesh::pb::PublishRequest pub;
  pub.set_topic("slow.1");
  mesh::json_to_value({{"ms", 3000}}, *pub.mutable_payload());
  pub.set_deadline_ms(300);
  mesh::pb::PublishResponse pres;
  auto ctx = context(); // 20 s: the request's own deadline ends it
  auto st = s->Publish(ctx.get(), pub, &pres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  mesh::pb::PublishResponse details;
  CAF_REQUIRE(answer_of(st, details));
  CAF_CHECK_EQUAL(details.status(), "timeout");
  CAF_REQUIRE_EQUAL(details.dispatchers_size(), 1);
  CAF_CHECK_EQUAL(details.dispatchers(0).dispatcher_id(), "test-sleep");
  CAF_CHECK_EQUAL(details.dispatchers(0).status(), "timeout");
}
