#define CAF_SUITE cluster.grpc_door_limits
#include "check.hpp"

// The gRPC front door at its limits, against real meshnode processes: ids
// that gRPC metadata cannot carry (a node must never echo them: gRPC aborts
// the process), failures too long for trailing metadata, and bodies
// protobuf cannot read.

#include <fstream>
#include <future>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

CAF_TEST(a trace id metadata cannot carry is refused and the node lives on) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  // gRPC aborts a process that puts a byte outside printable ASCII into
  // metadata: the answer's x-mesh-trace-id must never echo one. (Process
  // without manifests fails, and its failure used to carry the id back.)
  mesh::pb::ProcessRequest preq;
  preq.set_process_name("nope");
  preq.set_trace_id("caf\xc3\xa9");
  mesh::pb::ProcessResponse pres;
  auto pctx = context();
  auto pst = s->Process(pctx.get(), preq, &pres);
  CAF_CHECK(!pst.ok());
  auto req = get_user();
  auto bad = req;
  bad.set_trace_id("a\tb");
  mesh::pb::DispatchResponse res;
  auto dctx = context();
  auto dst = s->Dispatch(dctx.get(), bad, &res);
  CAF_CHECK_EQUAL(dst.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(dst.error_message().find("trace_id may hold only")
            != std::string::npos);
  // Metadata may hold a space; a trace id may not.
  auto mctx = context();
  mctx->AddMetadata("x-mesh-trace-id", "two words");
  auto mst = s->Dispatch(mctx.get(), req, &res);
  CAF_CHECK_EQUAL(mst.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(mst.error_message().find("x-mesh-trace-id") != std::string::npos);
  // The node is still there and answers.
  auto okctx = context();
  auto okst = s->Dispatch(okctx.get(), req, &res);
  MESH_CHECK_MSG(okst.ok(), okst.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
}

CAF_TEST(a failure too long for trailing metadata still reaches the client) {
  temp_dir dir;
  node_process a{with_grpc({"--id", "a", "--manifests", dir.path()})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  // The refusal names the process and its answer repeats it: 20,000
  // characters would make trailers no client accepts (8 KiB by default).
  mesh::pb::ProcessRequest req;
  req.set_process_name(std::string(20000, 'p'));
  req.set_trace_id("long-name");
  mesh::pb::ProcessResponse res;
  auto ctx = context();
  auto st = s->Process(ctx.get(), req, &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK(st.error_message().find("has no manifest") == std::string::npos);
  CAF_CHECK(st.error_message().rfind("process 'ppp", 0) == 0);
  CAF_CHECK_LESS_OR_EQUAL(st.error_message().size(), 512u + 3u);
  auto details = rich_status(st); // the 20 KB answer is left out of it
  CAF_CHECK_EQUAL(details.code(), static_cast<int32_t>(st.error_code()));
  CAF_CHECK_EQUAL(details.message(), st.error_message());
  CAF_CHECK_EQUAL(details.details_size(), 0);
  // Non-ASCII is percent-encoded on the wire (3 bytes a byte) and the
  // details base64: 2,000 'é' (4,000 bytes) must still fit.
  std::string accents;
  for (int i = 0; i < 2000; ++i)
    accents += "\xc3\xa9";
  req.set_process_name(accents);
  auto ctx2 = context();
  auto st2 = s->Process(ctx2.get(), req, &res);
  CAF_CHECK_EQUAL(st2.error_code(), grpc::StatusCode::NOT_FOUND);
}

CAF_TEST(a body protobuf cannot read is refused in words after the token) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process a{with_grpc({"--id", "a", "--console-token-file",
                            dir.file("token"), "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto channel = grpc::CreateChannel(a.grpc(),
                                     grpc::InsecureChannelCredentials());
  auto s = mesh::v1::Mesh::NewStub(channel);
  auto seed = collector::CollectiveDispatcher::NewStub(channel);
  // C++ protobuf sends a string that is not UTF-8 (it only logs); the
  // node's parser refuses it. gRPC's own handler answered UNIMPLEMENTED
  // with no message, as if the method did not exist.
  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("users\xff");
  req.mutable_ref()->set_service("UserService");
  req.mutable_ref()->set_method("GetUser");
  mesh::pb::DispatchResponse res;
  auto ctx = context("s3cret-token");
  auto st = s->Dispatch(ctx.get(), req, &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  MESH_CHECK_MSG(st.error_message().find("not a valid mesh.pb.DispatchRequest")
                   != std::string::npos,
                 st.error_message());
  CAF_CHECK(st.error_message().find("mesh.pb.ServiceRef.namespace")
            != std::string::npos);
  // Bytes that are no message at all (a wrong wire type), sent raw.
  st = raw_call(channel, "/mesh.v1.Mesh/Dispatch", "\xff\xff\xff",
                "s3cret-token");
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().find("malformed protobuf bytes")
            != std::string::npos);
  // Nested deeper than the parser takes (150 lists in a publish).
  mesh::pb::PublishRequest pub;
  pub.set_topic("orders.eu.created");
  auto* v = pub.mutable_payload();
  for (int i = 0; i < 150; ++i)
    v = v->mutable_list_value()->add_values();
  v->set_number_value(1);
  mesh::pb::PublishResponse pres;
  auto dctx = context("s3cret-token");
  st = s->Publish(dctx.get(), pub, &pres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().find("not a valid mesh.pb.PublishRequest")
            != std::string::npos);
  // Without the token the body is not even read.
  auto anon = context();
  st = s->Dispatch(anon.get(), req, &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The seed's service reads its bodies the same way.
  collector::DispatchRequest sreq;
  sreq.set_namespace_("users");
  sreq.set_method_name("GetUser\xc3");
  collector::DispatchResponse sres;
  auto sctx = context("s3cret-token");
  st = seed->Dispatch(sctx.get(), sreq, &sres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().find("collector.DispatchRequest.method_name")
            != std::string::npos);
  // A good body still gets its answer, response and all.
  req.mutable_ref()->set_namespace_("users");
  *req.mutable_payload() = mesh::json_to_any({{"id", "u-1"}});
  auto okctx = context("s3cret-token");
  st = s->Dispatch(okctx.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
  auto doc = mesh::any_to_json(res.payload());
  CAF_REQUIRE(doc);
  CAF_CHECK_EQUAL(doc->value("name", ""), "Ada Lovelace");
}

CAF_TEST(a refused RunWorkflow is answered once and starts nothing) {
  // No --workflows: no runner. Each refusal used to go on into the ask and
  // finish the call a second time (gRPC asserts, the node dies).
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  for (bool in_body : {false, true}) {
    mesh::v1::RunWorkflowRequest both;
    both.set_workflow("w");
    (*both.mutable_definition()->mutable_fields())["name"].set_string_value(
      "w");
    mesh::v1::Run run;
    auto ctx = context();
    if (in_body)
      ctx->AddMetadata("x-mesh-status-in-body", "1");
    auto st = s->RunWorkflow(ctx.get(), both, &run);
    if (in_body) {
      MESH_CHECK_MSG(st.ok(), st.error_message());
      CAF_CHECK_EQUAL(run.status().code(), mesh::pb::INVALID_ARGUMENT);
    } else {
      CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      CAF_CHECK(st.error_message().find("one of them") != std::string::npos);
    }
    mesh::v1::RunWorkflowRequest named;
    named.set_workflow("w");
    auto nctx = context();
    if (in_body)
      nctx->AddMetadata("x-mesh-status-in-body", "1");
    st = s->RunWorkflow(nctx.get(), named, &run);
    if (in_body) {
      MESH_CHECK_MSG(st.ok(), st.error_message());
      CAF_CHECK_EQUAL(run.status().code(), mesh::pb::UNAVAILABLE);
    } else {
      CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::UNAVAILABLE);
      CAF_CHECK(st.error_message().find("workflow runner")
                != std::string::npos);
    }
  }
  // The node lives on and answers.
  auto req = get_user();
  mesh::pb::DispatchResponse res;
  auto okctx = context();
  auto okst = s->Dispatch(okctx.get(), req, &res);
  MESH_CHECK_MSG(okst.ok(), okst.error_message());
  CAF_CHECK(a.running());
}

CAF_TEST(payloads deeper than limits.max_json_depth are refused at the door) {
  temp_dir dir;
  auto cfg = dir.write("node.json",
                       R"({"listen": "127.0.0.1:0", "console": "127.0.0.1:0",
                           "limits": {"max_json_depth": 4}})");
  node_process a{with_grpc({"--config", cfg, "--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  // Five levels: one more than the node takes (as its console would).
  nlohmann::json deep = {{"a", {{"b", {{"c", {{"d", {{"e", 1}}}}}}}}}};
  nlohmann::json fine = {{"a", {{"b", {{"c", {{"d", 1}}}}}}}};
  mesh::pb::PublishRequest pub;
  pub.set_topic("orders.eu.created");
  mesh::json_to_value(deep, *pub.mutable_payload());
  mesh::pb::PublishResponse pres;
  auto pctx = context();
  auto st = s->Publish(pctx.get(), pub, &pres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  MESH_CHECK_MSG(st.error_message()
                   == "payload nests deeper than 4 levels "
                      "(limits.max_json_depth)",
                 st.error_message());
  mesh::json_to_value(fine, *pub.mutable_payload());
  auto fctx = context();
  st = s->Publish(fctx.get(), pub, &pres);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  mesh::pb::ProcessRequest proc;
  proc.set_process_name("any");
  mesh::json_to_value(deep, *proc.mutable_input_args());
  mesh::pb::ProcessResponse rres;
  auto rctx = context();
  st = s->Process(rctx.get(), proc, &rres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().rfind("input_args nests deeper", 0) == 0);
  mesh::v1::EmitRequest emit;
  auto* ev = emit.add_events();
  ev->set_dataset("d");
  ev->set_cursor(1);
  mesh::json_to_value(deep, *ev->mutable_payload());
  mesh::v1::EmitResponse eres;
  auto ectx = context();
  st = s->Emit(ectx.get(), emit, &eres);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().rfind("an event's payload nests deeper", 0)
            == 0);
  mesh::v1::RunWorkflowRequest run;
  run.set_workflow("w");
  mesh::json_to_value(deep, *run.mutable_input());
  mesh::v1::Run out;
  auto wctx = context();
  st = s->RunWorkflow(wctx.get(), run, &out);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CAF_CHECK(st.error_message().rfind("input nests deeper", 0) == 0);
}

CAF_TEST(compressed requests are refused before they are unpacked) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  auto req = get_user();
  mesh::pb::DispatchResponse res;
  for (auto algorithm : {GRPC_COMPRESS_GZIP, GRPC_COMPRESS_DEFLATE}) {
    auto zctx = context();
    zctx->set_compression_algorithm(algorithm);
    auto st = s->Dispatch(zctx.get(), req, &res);
    MESH_CHECK_MSG(st.error_code() == grpc::StatusCode::UNIMPLEMENTED,
                   st.error_code() << " " << st.error_message());
    CAF_CHECK(st.error_message().find("disabled") != std::string::npos);
  }
  // 96 MiB of zeros, about 96 KiB on the wire, far under the door's limit
  // as gRPC checks it (the compressed size): gRPC 1.51 unpacked it whole
  // (twice) before the handler, the token check included, ran.
  auto before = status_kib(a.pid(), "VmHWM");
  auto bomb = get_user(std::string(96 << 20, '\0'));
  auto bctx = context();
  bctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  auto st = s->Dispatch(bctx.get(), bomb, &res);
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  auto after = status_kib(a.pid(), "VmHWM");
  CAF_REQUIRE(before > 0);
  MESH_CHECK_MSG(after < before + 48 * 1024,
                 "the node's peak grew from " << before << " to " << after
                                               << " KiB");
  // Sent plain, the same client is answered.
  auto okctx = context();
  st = s->Dispatch(okctx.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
}
