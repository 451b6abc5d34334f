#include "grpc/connect_back.hpp"

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
  grpc::ClientContext ctx;
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

} // namespace

void connect_back(connect_back_request req, connect_back_done done) noexcept {
  std::shared_ptr<pending_connect> call;
  try {
    std::string error;
    auto creds = credentials(req.tls, error);
    if (!creds) {
      collector::ConnectResponse none;
      done(grpc::Status{grpc::StatusCode::FAILED_PRECONDITION, error}, none);
      return;
    }
    call = std::make_shared<pending_connect>();
    call->stub = collector::CollectiveDispatcher::NewStub(
      grpc::CreateChannel(req.door, creds));
    call->ctx.set_deadline(std::chrono::system_clock::now() + req.timeout);
    call->ctx.AddMetadata(connect_back_key, "1");
    if (!req.authorization.empty())
      call->ctx.AddMetadata("authorization", req.authorization);
    call->request.set_collector_id(req.our_id);
    call->request.set_address(req.our_address);
    for (auto& ns : req.namespaces)
      call->request.add_namespaces(std::move(ns));
    call->done = std::move(done);
    // The callback holds the call (and so the stub and channel) alive.
    call->stub->async()->Connect(&call->ctx, &call->request, &call->response,
                                 [call](grpc::Status st) {
                                   call->done(st, call->response);
                                 });
  } catch (const std::exception& e) {
    // Out of memory, at worst: the caller still gets its one answer.
    log::get("grpc")->error("gRPC connect back to {}: {}", req.door,
                            e.what());
    auto& answer = done || !call ? done : call->done;
    if (answer) {
      collector::ConnectResponse none;
      answer(grpc::Status{grpc::StatusCode::INTERNAL, e.what()}, none);
    }
  }
}

} // namespace mesh::grpc_door
