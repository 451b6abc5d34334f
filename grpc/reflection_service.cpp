// gRPC server reflection (grpc.reflection.v1 and v1alpha) on the front door:
// what grpcurl, Postman and Evans ask to list the services and read their
// schemas, so a user calls the door without the .proto files at hand.
// gRPC's own plug-in (libgrpc++_reflection) would answer anyone; this one
// asks for the console token first, as every other method of the door, and
// describes only what the door serves: the files of its services and the
// files they import (not every message linked into the node).

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpc/reflection_answer.hpp"
#include "grpc/services.hpp"

namespace mesh::grpc_door {

namespace {

/// One reflection stream: each request answered in order, on gRPC's
/// threads (no actor is asked: descriptors are the process's own). Bodies
/// are read here (as raw_unary.hpp does): one protobuf cannot parse ends
/// the stream INVALID_ARGUMENT naming why, where gRPC's own reader would
/// end it as if the client had finished.
template <class Service>
class reflection_stream final
  : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
public:
  using request = typename Service::request;
  using response = typename Service::response;

  reflection_stream(grpc::CallbackServerContext* ctx,
                    const std::string& token,
                    std::shared_ptr<const reflection::catalog> cat)
    : cat_(std::move(cat)) {
    if (auto denied = check_token(*ctx, token)) {
      Finish(*denied);
      return;
    }
    StartRead(&read_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) { // the client is done asking (or gone)
      Finish(grpc::Status::OK);
      return;
    }
    in_.Clear();
    if (auto why = parse_request(read_, in_)) {
      Finish({grpc::StatusCode::INVALID_ARGUMENT,
              "the request is not a valid " + request::descriptor()->full_name()
                + ": " + why->substr(0, 400)});
      return;
    }
    try {
      out_.Clear();
      reflection::respond(*cat_, in_, out_);
      bool own = false;
      write_.Clear();
      (void)grpc::SerializationTraits<response>::Serialize(out_, &write_,
                                                           &own);
    } catch (const std::exception& e) { // never into gRPC's thread
      Finish({grpc::StatusCode::INTERNAL,
              std::string{"reflection failed: "} + e.what()});
      return;
    }
    StartWrite(&write_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish({grpc::StatusCode::CANCELLED, "the client went away"});
      return;
    }
    StartRead(&read_);
  }

  void OnDone() override {
    delete this;
  }

private:
  std::shared_ptr<const reflection::catalog> cat_;
  grpc::ByteBuffer read_;
  grpc::ByteBuffer write_;
  request in_;
  response out_;
};

/// The generated service with ServerReflectionInfo reading raw bodies.
template <class Service>
using raw_reflection_base =
  typename Service::grpc_service::template
    WithRawCallbackMethod_ServerReflectionInfo<
      typename Service::grpc_service::Service>;

template <class Service>
class reflection_service final : public raw_reflection_base<Service> {
public:
  reflection_service(std::string token,
                     std::shared_ptr<const reflection::catalog> cat)
    : token_(std::move(token)), cat_(std::move(cat)) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
  ServerReflectionInfo(grpc::CallbackServerContext* ctx) override {
    return new reflection_stream<Service>(ctx, token_, cat_);
  }

private:
  std::string token_;
  std::shared_ptr<const reflection::catalog> cat_;
};

struct v1 {
  using grpc_service = ::grpc::reflection::v1::ServerReflection;
  using request = ::grpc::reflection::v1::ServerReflectionRequest;
  using response = ::grpc::reflection::v1::ServerReflectionResponse;
};

struct v1alpha {
  using grpc_service = ::grpc::reflection::v1alpha::ServerReflection;
  using request = ::grpc::reflection::v1alpha::ServerReflectionRequest;
  using response = ::grpc::reflection::v1alpha::ServerReflectionResponse;
};

} // namespace

std::vector<std::unique_ptr<grpc::Service>>
make_reflection_services(const node_handles& node,
                         std::vector<std::string> services) {
  services.emplace_back(v1::grpc_service::service_full_name());
  services.emplace_back(v1alpha::grpc_service::service_full_name());
  auto cat = std::make_shared<const reflection::catalog>(std::move(services));
  std::vector<std::unique_ptr<grpc::Service>> out;
  out.push_back(std::make_unique<reflection_service<v1>>(node.token, cat));
  out.push_back(std::make_unique<reflection_service<v1alpha>>(node.token, cat));
  return out;
}

} // namespace mesh::grpc_door
