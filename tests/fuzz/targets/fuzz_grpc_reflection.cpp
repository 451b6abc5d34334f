// Fuzz target: gRPC server reflection's answers on the front door
// (grpc/reflection_answer.hpp). The input is a ServerReflectionRequest's
// bytes as a client sends them; bytes protobuf cannot read are asked as a
// file name and a symbol instead. Every answer holds exactly one kind, an
// error's message is short, and every file described parses.
#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/descriptor.pb.h>

#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection_answer.hpp"

namespace {

using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;

void check(const ServerReflectionRequest& req) {
  // The front door's catalog (grpc/front_door.cpp).
  static const mesh::grpc_door::reflection::catalog cat{
    {"collector.CollectiveDispatcher", "mesh.v1.Mesh", "grpc.health.v1.Health",
     "grpc.reflection.v1.ServerReflection",
     "grpc.reflection.v1alpha.ServerReflection"}};
  ServerReflectionResponse res;
  mesh::grpc_door::reflection::respond(cat, req, res);
  if (res.message_response_case()
      == ServerReflectionResponse::MESSAGE_RESPONSE_NOT_SET)
    __builtin_trap();
  if (res.has_error_response()
      && (res.error_response().error_message().size() > 300
          || res.error_response().error_code() == 0))
    __builtin_trap();
  for (const auto& bytes : res.file_descriptor_response()
                             .file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes) || file.name().empty())
      __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes{reinterpret_cast<const char*>(data), size};
  ServerReflectionRequest req;
  if (req.ParseFromString(bytes)) {
    check(req);
    return 0;
  }
  req.Clear();
  req.set_file_by_filename(bytes);
  check(req);
  req.set_file_containing_symbol(bytes);
  check(req);
  req.set_all_extension_numbers_of_type(bytes);
  check(req);
  return 0;
}
