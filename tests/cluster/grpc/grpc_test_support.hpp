#pragma once

// What the gRPC front door's cluster tests share: a bounded client context,
// the flags of a node with a gRPC port, and a request every test makes.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "check.hpp"
#include "grpc/call_support.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "protocol/grpc/google/rpc/status.pb.h"
#include "protocol/json/json_payload.hpp"
#include "protocol/mesh.pb.h"

namespace mesh::test {

using namespace std::chrono_literals;

/// A context with a deadline (every call of the tests is bounded) and the
/// token, when there is one.
inline std::unique_ptr<grpc::ClientContext>
context(const std::string& token = {},
        std::chrono::milliseconds deadline = 20s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty())
    ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

/// The error details of a failed call, as gRPC libraries read them: a
/// google.rpc.Status with the call's code and message (empty if absent).
inline google::rpc::Status rich_status(const grpc::Status& st) {
  google::rpc::Status details;
  if (!details.ParseFromString(st.error_details()))
    details.Clear();
  return details;
}

/// The answer a failed call carried: the one entry of its details, which
/// must hold the call's own code. False when there is none.
template <class Answer>
bool answer_of(const grpc::Status& st, Answer& out) {
  return rich_status(st).code() == static_cast<int32_t>(st.error_code())
         && mesh::grpc_door::answer_in_details(st, out);
}

/// The seed's Connect through `s` to `address`, offering `offered`; checks
/// it joined node `peer` with `shared` the one namespace both share.
inline collector::ConnectResponse
connect_checked(collector::CollectiveDispatcher::Stub& s,
                const std::string& address,
                const std::vector<std::string>& offered,
                const std::string& peer, const std::string& shared,
                const std::string& token = {}) {
  collector::ConnectRequest req;
  req.set_collector_id("client");
  req.set_address(address);
  for (const auto& ns : offered)
    req.add_namespaces(ns);
  collector::ConnectResponse res;
  auto ctx = context(token);
  auto st = s.Connect(ctx.get(), req, &res);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_CHECK_EQUAL(res.status().code(), 200);
  CAF_CHECK_EQUAL(res.target_collector_id(), peer);
  CAF_CHECK(!res.connection_id().empty());
  CAF_REQUIRE_EQUAL(res.shared_namespaces_size(), 1);
  CAF_CHECK_EQUAL(res.shared_namespaces(0), shared);
  return res;
}

/// mesh.v1 Dispatch of the example plug-in's users/UserService/GetUser.
inline mesh::pb::DispatchRequest get_user(const std::string& id = "u-1") {
  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("users");
  req.mutable_ref()->set_service("UserService");
  req.mutable_ref()->set_method("GetUser");
  *req.mutable_payload() = mesh::json_to_any({{"id", id}});
  return req;
}

/// Calls `method` ("/package.Service/Method") with `body` as the raw
/// request bytes (a body no stub would send); the call's status, and the
/// reply's bytes in `reply_bytes` when given.
inline grpc::Status raw_call(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& method,
                             const std::string& body,
                             const std::string& token = {},
                             std::string* reply_bytes = nullptr) {
  grpc::GenericStub raw{channel};
  grpc::Slice slice{body};
  grpc::ByteBuffer request{&slice, 1};
  grpc::ByteBuffer reply;
  std::promise<grpc::Status> done;
  auto ctx = context(token);
  raw.UnaryCall(ctx.get(), method, grpc::StubOptions{}, &request, &reply,
                [&](grpc::Status x) { done.set_value(std::move(x)); });
  auto status = done.get_future().get();
  std::vector<grpc::Slice> slices;
  if (reply_bytes != nullptr && status.ok() && reply.Dump(&slices).ok())
    for (const auto& x : slices)
      reply_bytes->append(reinterpret_cast<const char*>(x.begin()), x.size());
  return status;
}

/// A node's flags plus a gRPC port and a quick failure detector.
inline std::vector<std::string> with_grpc(std::vector<std::string> args) {
  args.insert(args.end(), {"--grpc", "127.0.0.1:0", "--heartbeat-interval-ms",
                           "100", "--heartbeat-misses", "5"});
  return args;
}

} // namespace mesh::test
