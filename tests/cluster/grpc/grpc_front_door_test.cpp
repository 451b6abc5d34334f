#define CAF_SUITE cluster.grpc_front_door
#include "check.hpp"

// The gRPC front door (issue 17) against real meshnode processes, through
// the generated C++ stubs of protocol/grpc/*.proto: the seed's
// CollectiveDispatcher (Connect, Serve, Dispatch: local, remote, a handler
// error, an unknown method, a deadline) and Mesh's own service; the token.

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "protocol/json/json_payload.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

using stub = collector::CollectiveDispatcher::Stub;

std::unique_ptr<stub> dispatcher_at(const std::string& address) {
  return collector::CollectiveDispatcher::NewStub(
    grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

collector::DispatchRequest request(const std::string& ns,
                                   const std::string& service,
                                   const std::string& method,
                                   const json& input = json::object()) {
  collector::DispatchRequest req;
  req.set_namespace_(ns);
  req.mutable_service()->set_service_name(service);
  req.set_method_name(method);
  *req.mutable_input() = mesh::json_to_any(input);
  return req;
}

struct dispatched {
  grpc::Status status;
  collector::DispatchResponse response;
};

/// A Dispatch; a failed call's answer comes from its error details.
dispatched dispatch(stub& s, const collector::DispatchRequest& req,
                    const std::string& token = {},
                    std::chrono::milliseconds deadline = 20s) {
  dispatched out;
  auto ctx = context(token, deadline);
  out.status = s.Dispatch(ctx.get(), req, &out.response);
  // (Refused by gRPC itself: no answer, the response stays empty.)
  if (!out.status.ok())
    static_cast<void>(answer_of(out.status, out.response));
  return out;
}

json output_of(const collector::DispatchResponse& r) {
  auto j = mesh::any_to_json(r.output());
  return j ? *j : json{};
}

/// Whether process `pid` has a file whose path holds `part` mapped.
bool maps(pid_t pid, const std::string& part) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/maps"};
  std::string line;
  while (std::getline(in, line))
    if (line.find(part) != std::string::npos)
      return true;
  return false;
}


} // namespace

CAF_TEST(the ready line names the gRPC address) {
  node_process a{with_grpc({"--id", "a"})};
  CAF_REQUIRE(!a.grpc().empty());
  CAF_CHECK(a.grpc().rfind("127.0.0.1:", 0) == 0);
  CAF_CHECK(a.grpc() != "127.0.0.1:0");
}

CAF_TEST(only a node with a door loads the gRPC libraries) {
  node_process plain{{"--id", "plain"}};
  // What it does map is read (the node is up, its maps readable).
  CAF_REQUIRE(maps(plain.pid(), "/libmesh_node.so"));
  CAF_CHECK(!maps(plain.pid(), "libmesh_grpc.so"));
  CAF_CHECK(!maps(plain.pid(), "/libgrpc"));
  node_process door{with_grpc({"--id", "door"})};
  CAF_CHECK(maps(door.pid(), "libmesh_grpc.so"));
  CAF_CHECK(maps(door.pid(), "/libgrpc"));
}

CAF_TEST(a door whose library cannot be opened stops the start) {
  temp_dir dir;
  // The node looks beside libmesh_node.so: a copy here, found first through
  // LD_LIBRARY_PATH, with a file beside it that is no library.
  std::filesystem::copy_file(bin("libmesh_node.so"),
                             dir.file("libmesh_node.so"));
  auto broken = dir.write("libmesh_grpc.so", "not a library");
  std::vector<std::string> argv{"/usr/bin/env",
                                "LD_LIBRARY_PATH=" + dir.path(),
                                bin("meshnode"),
                                "--listen",
                                "127.0.0.1:0",
                                "--console",
                                "127.0.0.1:0",
                                "--http",
                                "127.0.0.1:0",
                                "--grpc",
                                "127.0.0.1:0",
                                "--data-dir",
                                dir.file("data")};
  auto why = "cannot open the gRPC door's library " + broken;
  auto r = run_program(argv, 30s);
  CAF_CHECK(!r.timed_out);
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
  MESH_CHECK_MSG(r.err.find(why) != std::string::npos, r.err);
  // --check-config finds it too, under the setting that asks for it.
  argv.push_back("--check-config");
  auto check = run_program(argv, 30s);
  CAF_CHECK_EQUAL(check.exit_code, 2);
  MESH_CHECK_MSG(check.err.find("/grpc/listen: " + why) != std::string::npos,
                 check.err);
  // A library of another build (its entry of another size) is refused
  // unread.
  std::filesystem::copy_file(bin("libmesh_test_door_other_build.so"), broken,
                             std::filesystem::copy_options::overwrite_existing);
  auto other = run_program(argv, 30s);
  CAF_CHECK_EQUAL(other.exit_code, 2);
  MESH_CHECK_MSG(other.err.find(why + ": its entry is of another Mesh build")
                   != std::string::npos,
                 other.err);
}

CAF_TEST(the seed Connect Serve and Dispatch work across two nodes) {
  // As the seed's complete example: collector 1 serves users, collector 2
  // what collector 1 has no handler for (here: test), and they share it.
  node_process a{with_grpc({"--id", "collector-1", "--namespaces",
                            "users,test", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  node_process b{with_grpc({"--id", "collector-2", "--plugin",
                            bin("libmesh_test_handlers.so")})};
  auto s = dispatcher_at(a.grpc());
  connect_checked(*s, b.listen(), {"users", "test"}, "collector-2", "test");
  // Local: a handler of this node.
  auto local = dispatch(*s, request("users", "UserService", "GetUser",
                                    {{"id", "u-1"}}));
  MESH_CHECK_MSG(local.status.ok(), local.status.error_message());
  CAF_CHECK_EQUAL(local.response.status().code(), 200);
  CAF_CHECK_EQUAL(local.response.handled_by_collector_id(), "collector-1");
  MESH_CHECK_MSG(output_of(local.response).value("name", "") == "Ada Lovelace",
                 output_of(local.response).dump() << " type "
                   << local.response.output().type_url());
  // Remote, at once: Connect answered once the peer's handlers were known.
  auto remote = dispatch(*s, request("test", "Faults", "Echo",
                                     {{"word", "hi"}}));
  MESH_CHECK_MSG(remote.status.ok(), remote.status.error_message());
  CAF_CHECK_EQUAL(remote.response.status().code(), 200);
  CAF_CHECK_EQUAL(remote.response.handled_by_collector_id(), "collector-2");
  CAF_CHECK_EQUAL(output_of(remote.response), json({{"word", "hi"}}));
  // A handler error on the peer: 500 in the answer, INTERNAL on the call.
  auto err = dispatch(*s, request("test", "Faults", "Throw"));
  CAF_CHECK_EQUAL(err.status.error_code(), grpc::StatusCode::INTERNAL);
  CAF_CHECK(err.status.error_message().rfind("handler error: ", 0) == 0);
  CAF_CHECK_EQUAL(err.response.status().code(), 500);
  CAF_CHECK_EQUAL(err.response.handled_by_collector_id(), "collector-2");
  CAF_CHECK(err.status.error_message().find("hunter2") == std::string::npos);
  // An unknown method: 404, NOT_FOUND.
  auto missing = dispatch(*s, request("users", "UserService", "Nope"));
  CAF_CHECK_EQUAL(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK_EQUAL(missing.response.status().code(), 404);
  // A target that is not in the cluster: 503, UNAVAILABLE.
  auto to = request("test", "Faults", "Echo");
  to.set_target_collector_id("collector-9");
  auto down = dispatch(*s, to);
  CAF_CHECK_EQUAL(down.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK_EQUAL(down.response.status().code(), 503);
  // The call's deadline is the request's: 504, DEADLINE_EXCEEDED.
  auto slow = dispatch(*s, request("test", "Faults", "Sleep", {{"ms", 3000}}),
                       {}, 300ms);
  CAF_CHECK_EQUAL(slow.status.error_code(),
                  grpc::StatusCode::DEADLINE_EXCEEDED);
  // Serve runs a handler of this node only: test has none here.
  collector::ServeRequest sreq;
  sreq.set_namespace_("test");
  sreq.mutable_service()->set_service_name("Faults");
  sreq.set_method_name("Echo");
  collector::ServeResponse sres;
  auto sctx = context();
  auto served = s->Serve(sctx.get(), sreq, &sres);
  CAF_CHECK(!served.ok());
  sreq.set_namespace_("users");
  sreq.mutable_service()->set_service_name("UserService");
  sreq.set_method_name("GetUser");
  *sreq.mutable_input() = mesh::json_to_any({{"id", "u-2"}});
  auto sctx2 = context();
  served = s->Serve(sctx2.get(), sreq, &sres);
  MESH_CHECK_MSG(served.ok(), served.error_message());
  CAF_CHECK_EQUAL(sres.executor_id(), "collector-1");
}

CAF_TEST(mesh v1 dispatch keeps the trace id of the metadata) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = mesh::v1::Mesh::NewStub(
    grpc::CreateChannel(a.grpc(), grpc::InsecureChannelCredentials()));
  auto req = get_user();
  std::string trace = "0af7651916cd43dd8448eb211c80319c";
  auto ctx = context();
  ctx->AddMetadata("x-mesh-trace-id", trace);
  mesh::pb::DispatchResponse res;
  auto st = s->Dispatch(ctx.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
  CAF_CHECK_EQUAL(res.trace_id(), trace);
  // A process that does not exist: NOT_FOUND or UNAVAILABLE (no
  // manifests), in Mesh's words either way.
  mesh::pb::ProcessRequest preq;
  preq.set_process_name("nope");
  mesh::pb::ProcessResponse pres;
  auto pctx = context();
  auto pst = s->Process(pctx.get(), preq, &pres);
  CAF_CHECK(!pst.ok());
  // Emit without a task dispatcher: UNAVAILABLE naming --jobs.
  mesh::v1::EmitRequest ereq;
  auto* ev = ereq.add_events();
  ev->set_dataset("orders");
  ev->set_cursor(1);
  mesh::v1::EmitResponse eres;
  auto ectx = context();
  auto est = s->Emit(ectx.get(), ereq, &eres);
  CAF_CHECK_EQUAL(est.error_code(), grpc::StatusCode::UNAVAILABLE);
  CAF_CHECK(est.error_message().find("--jobs") != std::string::npos);
}

CAF_TEST(with a token every call needs it as a bearer token) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process a{with_grpc({"--id", "guarded", "--console-token-file",
                            dir.file("token"), "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = dispatcher_at(a.grpc());
  auto req = request("users", "UserService", "GetUser", {{"id", "u-1"}});
  for (const auto& token : {std::string{}, std::string{"wrong-token"}}) {
    auto r = dispatch(*s, req, token);
    CAF_CHECK_EQUAL(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  auto ok = dispatch(*s, req, "s3cret-token");
  MESH_CHECK_MSG(ok.status.ok(), ok.status.error_message());
  CAF_CHECK_EQUAL(ok.response.handled_by_collector_id(), "guarded");
  // The scheme is case-insensitive (RFC 6750); the token is not.
  for (const auto& [header, code] :
       {std::pair{std::string{"bearer s3cret-token"}, grpc::StatusCode::OK},
        std::pair{std::string{"BEARER s3cret-token"}, grpc::StatusCode::OK},
        std::pair{std::string{"Bearer S3CRET-TOKEN"},
                  grpc::StatusCode::UNAUTHENTICATED}}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 20s);
    ctx.AddMetadata("authorization", header);
    collector::DispatchResponse out;
    auto st = s->Dispatch(&ctx, req, &out);
    MESH_CHECK_MSG(st.error_code() == code, header << ": " << st.error_message());
  }
}

CAF_TEST(a gRPC port other hosts can reach needs a token) {
  auto r = run_program({bin("meshnode"), "--listen", "127.0.0.1:0",
                        "--console", "127.0.0.1:0", "--http", "127.0.0.1:0",
                        "--grpc", "0.0.0.0:0"},
                       30s);
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
  MESH_CHECK_MSG(r.err.find("gRPC") != std::string::npos, r.err);
}

CAF_TEST(with the node certificate the front door speaks TLS) {
  temp_dir dir;
  auto script = std::string{MESH_SOURCE_DIR} + "/examples/tls/make-certs.sh";
  CAF_REQUIRE_EQUAL(run_program({"/bin/bash", script, dir.path(), "n1"}).exit_code,
                    0);
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process a{with_grpc({"--id", "n1", "--plugin",
                            bin("libmesh_example_handlers.so"),
                            "--tls-certificate", dir.file("n1.pem"),
                            "--tls-key", dir.file("n1.key"), "--tls-ca",
                            dir.file("ca.pem"), "--console-token-file",
                            dir.file("token")})};
  std::ifstream in{dir.file("ca.pem")};
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs.assign(std::istreambuf_iterator<char>{in}, {});
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("n1"); // the certificate names the node
  auto secure = collector::CollectiveDispatcher::NewStub(grpc::CreateCustomChannel(
    a.grpc(), grpc::SslCredentials(opts), args));
  auto req = request("users", "UserService", "GetUser", {{"id", "u-1"}});
  auto ok = dispatch(*secure, req, "s3cret-token");
  MESH_CHECK_MSG(ok.status.ok(), ok.status.error_message());
  CAF_CHECK_EQUAL(ok.response.handled_by_collector_id(), "n1");
  // Over TLS too the token is asked for (before the message is read).
  auto anon = dispatch(*secure, req);
  CAF_CHECK_EQUAL(anon.status.error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
  // A plaintext client gets no answer from a TLS port.
  auto plain = dispatcher_at(a.grpc());
  auto refused = dispatch(*plain, req, {}, 3s);
  CAF_CHECK(!refused.status.ok());
}

CAF_TEST(a request over the payload limit is refused) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = dispatcher_at(a.grpc());
  // limits.max_payload_bytes is 4 MiB: gRPC refuses what is far larger
  // before reading it, the router what is a little larger.
  auto huge = dispatch(*s, request("users", "UserService", "GetUser",
                                   {{"id", std::string(5 << 20, 'x')}}));
  CAF_CHECK_EQUAL(huge.status.error_code(),
                  grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto over = dispatch(*s, request("users", "UserService", "GetUser",
                                   {{"id", std::string((4 << 20) + 100, 'x')}}));
  MESH_CHECK_MSG(over.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT,
                 over.status.error_code() << " " << over.status.error_message());
  CAF_CHECK_EQUAL(over.response.status().code(), 400);
}

CAF_TEST(x mesh status in body answers a failed status as an OK call) {
  node_process a{with_grpc({"--id", "a", "--plugin",
                            bin("libmesh_example_handlers.so")})};
  auto s = dispatcher_at(a.grpc());
  auto req = request("users", "UserService", "NoSuchMethod");
  // Default: the gRPC status carries the code.
  auto plain = dispatch(*s, req);
  CAF_CHECK_EQUAL(plain.status.error_code(), grpc::StatusCode::NOT_FOUND);
  CAF_CHECK_EQUAL(plain.response.status().code(), 404);
  // Opted in: an OK call whose body's Status carries it.
  collector::DispatchResponse res;
  auto ctx = context();
  ctx->AddMetadata("x-mesh-status-in-body", "1");
  auto st = s->Dispatch(ctx.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 404);
  CAF_CHECK(!res.status().message().empty());
}

CAF_TEST(stopping a node finishes every gRPC call in flight) {
  // The front door's bridges (grpc/bridge.hpp) hold these calls while a
  // slow handler runs; a node that stops within its grace answers each one
  // (UNAVAILABLE or OK: Mesh's answer, or the bridge's on stop), none hangs.
  node_process a{with_grpc({"--id", "a", "--shutdown-grace-ms", "500",
                            "--plugin", bin("libmesh_test_handlers.so")})};
  auto s = dispatcher_at(a.grpc());
  constexpr int calls = 16;
  std::mutex mtx;
  std::condition_variable cv;
  int finished = 0;
  std::vector<grpc::Status> statuses(calls);
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<collector::DispatchResponse> responses(calls);
  auto slow = request("test", "Faults", "Sleep", {{"ms", 30000}});
  for (int i = 0; i < calls; ++i) {
    ctxs.push_back(context({}, 60s));
    s->async()->Dispatch(ctxs.back().get(), &slow, &responses[i],
                         [&, i](grpc::Status st) {
                           std::lock_guard<std::mutex> guard{mtx};
                           statuses[i] = std::move(st);
                           ++finished;
                           cv.notify_all();
                         });
  }
  // A quick call on the same channel after them: once it is answered, the
  // slow ones have reached the node.
  auto echo = dispatch(*s, request("test", "Faults", "Echo", {{"w", 1}}));
  MESH_CHECK_MSG(echo.status.ok(), echo.status.error_message());
  {
    std::lock_guard<std::mutex> guard{mtx};
    CAF_CHECK_EQUAL(finished, 0);
  }
  CAF_CHECK_EQUAL(a.terminate(30s), 0);
  std::unique_lock<std::mutex> lock{mtx};
  CAF_REQUIRE(cv.wait_for(lock, 30s, [&] { return finished == calls; }));
  for (auto& st : statuses)
    MESH_CHECK_MSG(st.error_code() == grpc::StatusCode::UNAVAILABLE
                     || st.ok(),
                   st.error_code() << ": " << st.error_message());
}
