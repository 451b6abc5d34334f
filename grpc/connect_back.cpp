#include "grpc/connect_back.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "grpc/door_credentials.hpp"
#include "protocol/grpc/collector.grpc.pb.h"
#include "telemetry/log.hpp"

namespace mesh::grpc_door {

namespace {

// Everything one call needs until its callback: gRPC keeps pointers to the
// context, request and response.
struct pending_connect {
  std::unique_ptr<collector::CollectiveDispatcher::Stub> stub;
  std::unique_ptr<grpc::ClientContext> ctx;
  collector::ConnectRequest request;
  collector::ConnectResponse response;
  connect_back_done done;
};

std::shared_ptr<grpc::ChannelCredentials> credentials(const tls_config& tls,
                                                      std::string& error) {
  if (!tls.enabled())
    return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions opts;
  if (!tls.ca.empty() && !read_file(tls.ca, opts.pem_root_certs)) {
    error = "cannot read the TLS CA " + tls.ca;
    return nullptr;
  }
  return grpc::SslCredentials(opts);
}

// Runs `done` once; if it throws, once more with INTERNAL (its call is
// finished at most once: a second finish is dropped).
void answer(const connect_back_done& done, const grpc::Status& st,
            collector::ConnectResponse& resp) noexcept {
  try {
    done(st, resp);
    return;
  } catch (const std::exception& e) {
    log::get("grpc")->error("gRPC connect back: {}", e.what());
  }
  try {
    collector::ConnectResponse none;
    done(grpc::Status{grpc::StatusCode::INTERNAL,
                      "the node could not read the other door's answer"},
         none);
  } catch (const std::exception& e) {
    log::get("grpc")->error("gRPC connect back: {}", e.what());
  }
}

} // namespace

void connect_back(connect_back_request req, connect_back_done done) noexcept {
  collector::ConnectResponse none;
  try {
    std::string error;
    auto creds = credentials(req.tls, error);
    if (!creds) {
      answer(done, {grpc::StatusCode::FAILED_PRECONDITION, error}, none);
      return;
    }
    auto call = std::make_shared<pending_connect>();
    call->stub = collector::CollectiveDispatcher::NewStub(
      grpc::CreateChannel("dns:///" + to_string(req.door), creds));
    auto until = std::chrono::system_clock::now() + req.timeout;
    if (req.parent != nullptr) {
      // Cancelled with the caller's call; deadline: the earlier of the two.
      call->ctx = grpc::ClientContext::FromCallbackServerContext(*req.parent);
      until = std::min(until, call->ctx->deadline());
    } else {
      call->ctx = std::make_unique<grpc::ClientContext>();
    }
    call->ctx->set_deadline(until);
    call->ctx->AddMetadata(connect_back_key, "1");
    if (!req.authorization.empty())
      call->ctx->AddMetadata("authorization", req.authorization);
    call->request.set_collector_id(req.our_id);
    call->request.set_address(req.our_address);
    for (auto& ns : req.namespaces)
      call->request.add_namespaces(std::move(ns));
    auto* stub = call->stub.get();
    auto* ctx = call->ctx.get();
    auto* request = &call->request;
    auto* response = &call->response;
    call->done = std::move(done); // from here on the callback answers
    // The callback holds the call (and so the stub and channel) alive.
    stub->async()->Connect(ctx, request, response, [call](grpc::Status st) {
      answer(call->done, st, call->response);
    });
  } catch (const std::exception& e) {
    // Before the call left (out of memory, at worst): answered here.
    log::get("grpc")->error("gRPC connect back to {}: {}",
                            to_string(req.door), e.what());
    if (done)
      answer(done, {grpc::StatusCode::INTERNAL, e.what()}, none);
  }
}

} // namespace mesh::grpc_door
