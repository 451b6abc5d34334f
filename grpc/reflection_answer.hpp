#pragma once

// What gRPC server reflection answers on the front door
// (reflection_service.cpp), apart from the stream that carries it: the
// server's services and the files that describe them, from the process's
// generated descriptors. Only the files of the services the server
// registers and the files they import are described; any other name is
// NOT_FOUND. Names echoed in an error are cut to 200 bytes.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace google::protobuf {
class Descriptor;
class FileDescriptor;
} // namespace google::protobuf

namespace mesh::grpc_door::reflection {

/// What reflection describes: the services a server registers (full
/// names, in the order list_services gives them) and the files that define
/// them and what they import. Built once per server; read-only after.
class catalog {
public:
  explicit catalog(std::vector<std::string> services);

  const std::vector<std::string>& services() const {
    return services_;
  }

  /// `file` when it is described here, else null.
  const google::protobuf::FileDescriptor*
  served(const google::protobuf::FileDescriptor* file) const;

  /// The message type of that name when its file is described here.
  const google::protobuf::Descriptor*
  served_type(const std::string& name) const;

private:
  std::vector<std::string> services_;
  std::set<const google::protobuf::FileDescriptor*> files_;
};

/// One answer, whatever the protocol's version (v1, v1alpha).
struct answer {
  enum class kind { services, files, extension_numbers, error };
  kind what = kind::error;
  std::vector<std::string> services;  ///< full names
  std::vector<std::string> files;     ///< serialized FileDescriptorProtos,
                                      ///< the asked one first, then imports
  std::string base_type;              ///< extension_numbers
  std::vector<int32_t> numbers;       ///< extension_numbers
  grpc::StatusCode error_code = grpc::StatusCode::OK;
  std::string error_message;
};

/// The catalog's services.
answer list_services(const catalog& cat);

/// The file named so (as protoc named it: "mesh_service.proto").
answer file_by_filename(const catalog& cat, const std::string& name);

/// The file that defines a service, method, message, enum or field.
answer file_containing_symbol(const catalog& cat, const std::string& symbol);

/// The file that defines extension `number` of message `type`.
answer file_containing_extension(const catalog& cat, const std::string& type,
                                 int32_t number);

/// Every extension number of message `type`.
answer extension_numbers_of(const catalog& cat, const std::string& type);

/// A request that names none of the above.
answer nothing_asked();

/// Fills a v1 or v1alpha ServerReflectionResponse with the answer to `in`.
template <class Request, class Response>
void respond(const catalog& cat, const Request& in, Response& out) {
  out.set_valid_host(in.host());
  *out.mutable_original_request() = in;
  answer a;
  switch (in.message_request_case()) {
    case Request::kListServices:
      a = list_services(cat);
      break;
    case Request::kFileByFilename:
      a = file_by_filename(cat, in.file_by_filename());
      break;
    case Request::kFileContainingSymbol:
      a = file_containing_symbol(cat, in.file_containing_symbol());
      break;
    case Request::kFileContainingExtension:
      a = file_containing_extension(
        cat, in.file_containing_extension().containing_type(),
        in.file_containing_extension().extension_number());
      break;
    case Request::kAllExtensionNumbersOfType:
      a = extension_numbers_of(cat, in.all_extension_numbers_of_type());
      break;
    default:
      a = nothing_asked();
  }
  switch (a.what) {
    case answer::kind::services:
      for (auto& name : a.services)
        out.mutable_list_services_response()->add_service()->set_name(name);
      break;
    case answer::kind::files:
      for (auto& file : a.files)
        out.mutable_file_descriptor_response()->add_file_descriptor_proto(
          std::move(file));
      break;
    case answer::kind::extension_numbers: {
      auto* numbers = out.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(a.base_type);
      for (auto n : a.numbers)
        numbers->add_extension_number(n);
      break;
    }
    case answer::kind::error:
      out.mutable_error_response()->set_error_code(
        static_cast<int32_t>(a.error_code));
      out.mutable_error_response()->set_error_message(a.error_message);
  }
}

} // namespace mesh::grpc_door::reflection
