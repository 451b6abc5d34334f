// mesh_grpc_client: a C++ client of a Mesh node's gRPC front door, calling
// both services (issue 17):
//   collector.CollectiveDispatcher/Dispatch  the seed's API: HTTP-style codes
//   mesh.v1.Mesh/Dispatch                    Mesh's own: mesh.pb.StatusCode,
//                                            trace id, deadline, directives
//
//   mesh_grpc_client --node HOST:PORT [--token T] [--target NODE]
//                    [NAMESPACE SERVICE METHOD [JSON]]
//
// Default request: users UserService GetUser {"id":"u-1"} (the example
// plug-in). Sends it through both services, then an unknown method through
// both, and prints each outcome as the node said it: a failed call's gRPC
// code, and its whole answer read back from the error details. Exits 0 when
// the first two calls succeed and the unknown method is NOT_FOUND (404).

#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "collector.grpc.pb.h"
#include "google/rpc/status.pb.h"
#include "mesh_service.grpc.pb.h"

namespace {

struct options {
  std::string node = "127.0.0.1:7423", token, target;
  std::string ns = "users", service = "UserService", method = "GetUser";
  std::string payload = R"({"id":"u-1"})";
};

google::protobuf::Any json_any(const std::string& text) {
  google::protobuf::Value v;
  auto st = google::protobuf::util::JsonStringToMessage(text, &v);
  if (!st.ok()) {
    std::cerr << "mesh_grpc_client: payload is not JSON: " << st.ToString()
              << "\n";
    std::exit(2);
  }
  google::protobuf::Any any;
  any.PackFrom(v);
  return any;
}

std::string any_text(const google::protobuf::Any& any) {
  google::protobuf::Value v;
  if (any.type_url().empty() || !any.UnpackTo(&v))
    return any.type_url().empty() ? "null" : "<" + any.type_url() + ">";
  std::string out;
  (void) google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

// Every call carries the token (if any) and a deadline.
void prepare(grpc::ClientContext& ctx, const options& opt) {
  if (!opt.token.empty())
    ctx.AddMetadata("authorization", "Bearer " + opt.token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

// A failed call's answer travels in its error details, a google.rpc.Status
// (gRPC's rich error model) holding the answer as its one entry.
template <class Response>
void recover(const grpc::Status& st, Response& resp) {
  google::rpc::Status details;
  if (!st.ok() && details.ParseFromString(st.error_details())
      && details.details_size() == 1)
    details.details(0).UnpackTo(&resp);
}

// The seed's service; returns the HTTP-style code.
int collector_dispatch(collector::CollectiveDispatcher::Stub& stub,
                       const options& opt, const std::string& method) {
  collector::DispatchRequest req;
  req.set_namespace_(opt.ns);
  req.mutable_service()->set_service_name(opt.service);
  req.set_method_name(method);
  *req.mutable_input() = json_any(opt.payload);
  req.set_target_collector_id(opt.target);
  grpc::ClientContext ctx;
  prepare(ctx, opt);
  collector::DispatchResponse resp;
  auto st = stub.Dispatch(&ctx, req, &resp);
  recover(st, resp);
  std::cout << "collector Dispatch " << opt.ns << "/" << opt.service << "/"
            << method << ": grpc=" << st.error_code()
            << " code=" << resp.status().code()
            << " handled_by=" << resp.handled_by_collector_id()
            << " output=" << any_text(resp.output());
  if (!st.ok())
    std::cout << " message=" << st.error_message();
  std::cout << "\n";
  return resp.status().code();
}

// Mesh's own service; returns the mesh.pb.StatusCode.
int mesh_dispatch(mesh::v1::Mesh::Stub& stub, const options& opt,
                  const std::string& method) {
  mesh::pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_(opt.ns);
  req.mutable_ref()->set_service(opt.service);
  req.mutable_ref()->set_method(method);
  *req.mutable_payload() = json_any(opt.payload);
  req.set_target_node_id(opt.target);
  grpc::ClientContext ctx;
  prepare(ctx, opt);
  ctx.AddMetadata("x-mesh-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736");
  mesh::pb::DispatchResponse resp;
  auto st = stub.Dispatch(&ctx, req, &resp);
  recover(st, resp);
  std::cout << "mesh.v1 Dispatch " << opt.ns << "/" << opt.service << "/"
            << method << ": grpc=" << st.error_code()
            << " status=" << mesh::pb::StatusCode_Name(resp.status().code())
            << " handled_by=" << resp.handled_by()
            << " trace_id=" << resp.trace_id()
            << " output=" << any_text(resp.payload());
  if (!st.ok())
    std::cout << " message=" << st.error_message();
  std::cout << "\n";
  return resp.status().code();
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "mesh_grpc_client: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--node")
      opt.node = value();
    else if (a == "--token")
      opt.token = value();
    else if (a == "--target")
      opt.target = value();
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: mesh_grpc_client --node HOST:PORT [--token T] "
                   "[--target NODE] [NAMESPACE SERVICE METHOD [JSON]]\n";
      return 0;
    } else {
      switch (positional++) {
        case 0: opt.ns = a; break;
        case 1: opt.service = a; break;
        case 2: opt.method = a; break;
        case 3: opt.payload = a; break;
        default:
          std::cerr << "mesh_grpc_client: too many arguments\n";
          return 2;
      }
    }
  }
  auto channel = grpc::CreateChannel(opt.node,
                                     grpc::InsecureChannelCredentials());
  auto collector_stub = collector::CollectiveDispatcher::NewStub(channel);
  auto mesh_stub = mesh::v1::Mesh::NewStub(channel);

  bool good = collector_dispatch(*collector_stub, opt, opt.method) == 200;
  good = mesh_dispatch(*mesh_stub, opt, opt.method) == mesh::pb::OK && good;
  good = collector_dispatch(*collector_stub, opt, "NoSuchMethod") == 404
         && good;
  good = mesh_dispatch(*mesh_stub, opt, "NoSuchMethod") == mesh::pb::NOT_FOUND
         && good;
  std::cout << (good ? "all as expected" : "NOT as expected") << "\n";
  return good ? 0 : 1;
}
