#define CAF_SUITE cluster.grpc_token_check
#include "check.hpp"

// The gRPC front door's token check in gRPC's auth filter
// (grpc/door_credentials.hpp), against real meshnode processes: a call's
// token is checked before its message is read, on every method but the
// health service's, and a call that breaks the unary shape is answered.

#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

constexpr const char* token = "s3cret-token";

/// A node whose console (and so gRPC door) needs `token`.
struct gated_node {
  temp_dir dir;
  node_process node = start();

  node_process start() {
    std::ofstream{dir.file("token")} << token << "\n";
    return node_process{with_grpc({"--id", "a", "--console-token-file",
                                   dir.file("token"), "--plugin",
                                   bin("libmesh_example_handlers.so")})};
  }
};

/// A client stream that half-closes without sending a message.
struct no_message final
  : grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
  std::promise<grpc::Status> done;
  void OnDone(const grpc::Status& s) override {
    done.set_value(s);
  }
};

} // namespace

CAF_TEST(calls without the token are refused before their messages are read) {
  gated_node a;
  auto channel = grpc::CreateChannel(a.node.grpc(),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub raw{channel};
  // 300 calls of just under 4 MiB (the door takes 4 MiB and 64 KiB), all
  // at once and without the token: read before the check, they took the
  // node from 39 to 221 MB; now by 4-5 MB.
  constexpr int calls = 300;
  grpc::Slice slice{std::string((4 << 20) - 4096, 'x')}; // shared by all
  std::vector<grpc::ByteBuffer> requests;
  std::vector<grpc::ByteBuffer> replies(calls);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::promise<grpc::Status>> done(calls);
  auto before = status_kib(a.node.pid(), "VmHWM");
  CAF_REQUIRE(before > 0);
  for (int i = 0; i < calls; ++i) {
    requests.emplace_back(&slice, 1);
    contexts.push_back(context({}, 60s));
  }
  for (int i = 0; i < calls; ++i)
    raw.UnaryCall(contexts[i].get(), "/mesh.v1.Mesh/Dispatch",
                  grpc::StubOptions{}, &requests[i], &replies[i],
                  [&done, i](grpc::Status s) {
                    done[i].set_value(std::move(s));
                  });
  int refused = 0;
  for (auto& d : done)
    if (d.get_future().get().error_code()
        == grpc::StatusCode::UNAUTHENTICATED)
      ++refused;
  CAF_CHECK_EQUAL(refused, calls);
  auto after = status_kib(a.node.pid(), "VmHWM");
  MESH_CHECK_MSG(after < before + 48 * 1024,
                 "the node's peak grew from " << before << " to " << after
                                               << " KiB");
  // With the token, a message as large is read and answered.
  auto ctx = context(token);
  mesh::pb::DispatchResponse res;
  auto s = mesh::v1::Mesh::NewStub(channel);
  mesh::pb::DispatchRequest echo;
  echo.mutable_ref()->set_namespace_("echo");
  echo.mutable_ref()->set_service("EchoService");
  echo.mutable_ref()->set_method("Echo");
  *echo.mutable_payload() = mesh::json_to_any(
    {{"blob", std::string(3 << 20, 'e')}});
  auto st = s->Dispatch(ctx.get(), echo, &res);
  MESH_CHECK_MSG(st.ok(), st.error_code() << " " << st.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
  CAF_CHECK_EQUAL(res.payload().ByteSizeLong(), echo.payload().ByteSizeLong());
}

CAF_TEST(every method asks for the token and the health service does not) {
  gated_node a;
  auto channel = grpc::CreateChannel(a.node.grpc(),
                                     grpc::InsecureChannelCredentials());
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  size_t methods = 0;
  for (const char* name : {collector::CollectiveDispatcher::service_full_name(),
                           mesh::v1::Mesh::service_full_name()}) {
    const auto* service = pool->FindServiceByName(name);
    CAF_REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      auto path = "/" + service->full_name() + "/"
                  + service->method(i)->name();
      // An empty body is every request with its defaults: each method
      // answers it in its own words.
      auto st = raw_call(channel, path, "", token);
      MESH_CHECK_MSG(st.error_code() != grpc::StatusCode::UNIMPLEMENTED
                       && st.error_code() != grpc::StatusCode::UNAUTHENTICATED,
                     path << ": " << st.error_message());
      // Without the token, or with a wrong one, refused in words.
      auto anon = raw_call(channel, path, "");
      CAF_CHECK_EQUAL(anon.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      MESH_CHECK_MSG(anon.error_message().find("needs the console token")
                       != std::string::npos,
                     path << ": " << anon.error_message());
      auto wrong = raw_call(channel, path, "", "not-the-token");
      CAF_CHECK_EQUAL(wrong.error_message(), "wrong console token");
      ++methods;
    }
  }
  CAF_CHECK_EQUAL(methods, 12u); // 3 of the seed's, 9 of mesh.v1
  // A path nobody serves: refused without the token, unknown with it.
  CAF_CHECK_EQUAL(raw_call(channel, "/no.Such/Method", "").error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
  CAF_CHECK_EQUAL(raw_call(channel, "/no.Such/Method", "", token).error_code(),
                  grpc::StatusCode::UNIMPLEMENTED);
  // The health service answers anyone (as /healthz): a probe has no token.
  std::string reply;
  auto health = raw_call(channel, "/grpc.health.v1.Health/Check", "", {},
                         &reply);
  MESH_CHECK_MSG(health.ok(), health.error_message());
  CAF_CHECK_EQUAL(reply, std::string("\x08\x01", 2)); // status: SERVING
}

CAF_TEST(a call that sends no message is answered in words) {
  gated_node a;
  auto channel = grpc::CreateChannel(a.node.grpc(),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub raw{channel};
  no_message call;
  auto ctx = context(token);
  raw.PrepareBidiStreamingCall(ctx.get(), "/mesh.v1.Mesh/Dispatch",
                               grpc::StubOptions{}, &call);
  call.StartWritesDone();
  call.StartCall();
  auto st = call.done.get_future().get();
  CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  MESH_CHECK_MSG(st.error_message().find("carried no request message")
                   != std::string::npos,
                 st.error_message());
  // The node goes on answering.
  mesh::pb::DispatchResponse res;
  auto okctx = context(token);
  auto okst = mesh::v1::Mesh::NewStub(channel)->Dispatch(okctx.get(),
                                                         get_user(), &res);
  MESH_CHECK_MSG(okst.ok(), okst.error_message());
  CAF_CHECK_EQUAL(res.handled_by(), "a");
}
