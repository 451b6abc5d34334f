#define CAF_SUITE cluster.grpc_reflection
#include "check.hpp"

// gRPC server reflection on the front door of a real meshnode, asked as
// grpcurl asks it: list the services, fetch the file of one, build its
// descriptors from the answer alone and call Dispatch with messages made
// from them (no generated code). The token is asked first; what the door
// does not serve is not described; a bad request gets an error answer and
// the stream goes on.

#include <fstream>
#include <map>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>
#include <grpcpp/grpcpp.h>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/mesh_service.grpc.pb.h"
#include "temp_dir.hpp"

using namespace mesh::test;
namespace gpb = google::protobuf;
namespace refl = grpc::reflection::v1;

namespace {

const std::string token = "s3cret-token";

/// One reflection stream: ask() writes a request and reads its answer.
template <class Stub, class Request, class Response>
struct stream_of {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> rw;

  stream_of(Stub& stub, const std::string& tok) : ctx(context(tok)) {
    rw = stub.ServerReflectionInfo(ctx.get());
  }

  Response ask(const Request& req) {
    Response res;
    CAF_REQUIRE(rw->Write(req));
    CAF_REQUIRE(rw->Read(&res));
    return res;
  }

  grpc::Status finish() {
    rw->WritesDone();
    Response extra;
    CAF_CHECK(!rw->Read(&extra)); // no answer without a request
    return rw->Finish();
  }
};

using stream = stream_of<refl::ServerReflection::Stub,
                         refl::ServerReflectionRequest,
                         refl::ServerReflectionResponse>;

refl::ServerReflectionRequest symbol(const std::string& name) {
  refl::ServerReflectionRequest req;
  req.set_file_containing_symbol(name);
  return req;
}

/// Builds the files of a file_descriptor_response into `pool`, each after
/// the files it imports (as a client must: the answer is the only source).
void build(gpb::DescriptorPool& pool,
           const refl::FileDescriptorResponse& res) {
  std::map<std::string, gpb::FileDescriptorProto> protos;
  for (const auto& bytes : res.file_descriptor_proto()) {
    gpb::FileDescriptorProto p;
    CAF_REQUIRE(p.ParseFromString(bytes));
    protos[p.name()] = p;
  }
  std::function<void(const std::string&)> add = [&](const std::string& name) {
    if (pool.FindFileByName(name) != nullptr)
      return;
    auto i = protos.find(name);
    MESH_CHECK_MSG(i != protos.end(), "the answer lacks " + name);
    CAF_REQUIRE(i != protos.end());
    for (const auto& dep : i->second.dependency())
      add(dep);
    MESH_CHECK_MSG(pool.BuildFile(i->second) != nullptr, name);
  };
  for (const auto& [name, proto] : protos)
    add(name);
}

/// A unary call of `method` with `in`'s bytes; the reply's bytes.
std::string call(const std::shared_ptr<grpc::Channel>& channel,
                 const std::string& method, const gpb::Message& in) {
  std::string out;
  auto st = raw_call(channel, method, in.SerializeAsString(), token, &out);
  MESH_CHECK_MSG(st.ok(), st.error_message());
  CAF_REQUIRE(st.ok());
  return out;
}

struct fixture {
  temp_dir dir;
  std::unique_ptr<node_process> node;
  std::shared_ptr<grpc::Channel> channel;

  fixture() {
    std::ofstream{dir.file("token")} << token << '\n';
    node = std::make_unique<node_process>(with_grpc(
      {"--id", "a", "--console-token-file", dir.file("token"), "--plugin",
       bin("libmesh_example_handlers.so")}));
    channel = grpc::CreateChannel(node->grpc(),
                                  grpc::InsecureChannelCredentials());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(grpc_reflection_tests, fixture)

CAF_TEST(reflection describes the door well enough to call it) {
  auto stub = refl::ServerReflection::NewStub(channel);
  stream s{*stub, token};
  refl::ServerReflectionRequest list;
  list.set_host("anyhost");
  list.set_list_services("");
  auto listed = s.ask(list);
  CAF_CHECK_EQUAL(listed.valid_host(), "anyhost");
  CAF_CHECK(listed.original_request().has_list_services());
  std::vector<std::string> names;
  for (const auto& svc : listed.list_services_response().service())
    names.push_back(svc.name());
  CAF_CHECK_EQUAL(names, (std::vector<std::string>{
                           "collector.CollectiveDispatcher", "mesh.v1.Mesh",
                           "grpc.health.v1.Health",
                           "grpc.reflection.v1.ServerReflection",
                           "grpc.reflection.v1alpha.ServerReflection"}));
  // The file of mesh.v1.Mesh and what it imports, built into a pool of our
  // own: the same schema the node was built from.
  auto file = s.ask(symbol("mesh.v1.Mesh"));
  CAF_REQUIRE(file.has_file_descriptor_response());
  gpb::DescriptorPool pool;
  build(pool, file.file_descriptor_response());
  auto* generated = gpb::DescriptorPool::generated_pool()
                      ->FindServiceByName("mesh.v1.Mesh")
                      ->file();
  auto* service = pool.FindServiceByName("mesh.v1.Mesh");
  CAF_REQUIRE(service != nullptr);
  CAF_CHECK_EQUAL(service->file()->DebugString(), generated->DebugString());
  // Dispatch with messages made from the reflected descriptors only.
  auto* method = service->FindMethodByName("Dispatch");
  CAF_REQUIRE(method != nullptr);
  gpb::DynamicMessageFactory factory{&pool};
  std::unique_ptr<gpb::Message> req{
    factory.GetPrototype(method->input_type())->New()};
  // The README's grpcurl request, read as grpcurl reads JSON: through the
  // reflected descriptors (Any's @type resolved in them too).
  std::unique_ptr<gpb::util::TypeResolver> types{
    gpb::util::NewTypeResolverForDescriptorPool("type.googleapis.com", &pool)};
  std::string binary;
  auto parsed = gpb::util::JsonToBinaryString(
    types.get(), "type.googleapis.com/mesh.pb.DispatchRequest",
    R"({"ref":{"namespace":"users","service":"UserService","method":"GetUser"},
        "payload":{"@type":"type.googleapis.com/google.protobuf.Struct",
                   "value":{"id":"u-1"}}})",
    &binary);
  MESH_CHECK_MSG(parsed.ok(), parsed.ToString());
  CAF_REQUIRE(req->ParseFromString(binary));
  std::unique_ptr<gpb::Message> res{
    factory.GetPrototype(method->output_type())->New()};
  CAF_REQUIRE(res->ParseFromString(
    call(channel, "/mesh.v1.Mesh/Dispatch", *req)));
  auto* handled_by = method->output_type()->FindFieldByName("handled_by");
  CAF_REQUIRE(handled_by != nullptr);
  CAF_CHECK_EQUAL(res->GetReflection()->GetString(*res, handled_by), "a");
  std::string answer;
  CAF_CHECK(gpb::util::BinaryToJsonString(
              types.get(), "type.googleapis.com/mesh.pb.DispatchResponse",
              res->SerializeAsString(), &answer)
              .ok());
  MESH_CHECK_MSG(answer.find(R"("name":"Ada Lovelace")") != std::string::npos,
                 answer);
  // By file name too, and the seed's service by its symbol.
  refl::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("collector.proto");
  auto seed = s.ask(by_name);
  CAF_REQUIRE(seed.has_file_descriptor_response());
  gpb::DescriptorPool seed_pool;
  build(seed_pool, seed.file_descriptor_response());
  CAF_CHECK(seed_pool.FindMethodByName(
              "collector.CollectiveDispatcher.Dispatch") != nullptr);
  CAF_CHECK(s.ask(symbol("collector.DispatchRequest"))
              .has_file_descriptor_response());
  CAF_CHECK(s.finish().ok());
}

CAF_TEST(reflection asks for the token before anything) {
  auto stub = refl::ServerReflection::NewStub(channel);
  for (const std::string tok : {"", "wrong-token"}) {
    stream s{*stub, tok};
    s.rw->Write(symbol("mesh.v1.Mesh"));
    refl::ServerReflectionResponse res;
    CAF_CHECK(!s.rw->Read(&res));
    auto st = s.rw->Finish();
    CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // v1alpha, the version older clients ask, the same.
  namespace alpha = grpc::reflection::v1alpha;
  auto old = alpha::ServerReflection::NewStub(channel);
  stream_of<alpha::ServerReflection::Stub, alpha::ServerReflectionRequest,
            alpha::ServerReflectionResponse>
    denied{*old, ""};
  alpha::ServerReflectionRequest list;
  list.set_list_services("");
  denied.rw->Write(list);
  alpha::ServerReflectionResponse res;
  CAF_CHECK(!denied.rw->Read(&res));
  CAF_CHECK_EQUAL(denied.rw->Finish().error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
  stream_of<alpha::ServerReflection::Stub, alpha::ServerReflectionRequest,
            alpha::ServerReflectionResponse>
    allowed{*old, token};
  CAF_CHECK_EQUAL(allowed.ask(list).list_services_response().service_size(),
                  5);
  CAF_CHECK(allowed.finish().ok());
}

CAF_TEST(bad reflection requests get an error answer and the stream goes on) {
  auto stub = refl::ServerReflection::NewStub(channel);
  stream s{*stub, token};
  auto not_found = [&](const refl::ServerReflectionRequest& req) {
    auto res = s.ask(req);
    CAF_REQUIRE(res.has_error_response());
    CAF_CHECK_EQUAL(res.error_response().error_code(),
                    static_cast<int>(grpc::StatusCode::NOT_FOUND));
    return res.error_response().error_message();
  };
  CAF_CHECK_EQUAL(not_found(symbol("no.such.Service")),
                  "no symbol no.such.Service");
  // Linked into the node, but not part of what the door serves.
  CAF_CHECK(!not_found(symbol("google.protobuf.FileDescriptorProto")).empty());
  refl::ServerReflectionRequest file;
  file.set_file_by_filename("google/protobuf/descriptor.proto");
  not_found(file);
  file.set_file_by_filename("../../etc/passwd");
  not_found(file);
  not_found(symbol(std::string(100000, 'x')));
  not_found(symbol(std::string(500, '.')));
  refl::ServerReflectionRequest ext;
  ext.mutable_file_containing_extension()->set_containing_type(
    "mesh.pb.DispatchRequest");
  ext.mutable_file_containing_extension()->set_extension_number(-5);
  not_found(ext);
  refl::ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("no.such.Type");
  not_found(numbers);
  // A type the door serves: no extensions, its name said in full.
  numbers.set_all_extension_numbers_of_type("google.protobuf.Any");
  auto any = s.ask(numbers);
  CAF_CHECK_EQUAL(any.all_extension_numbers_response().base_type_name(),
                  "google.protobuf.Any");
  CAF_CHECK_EQUAL(any.all_extension_numbers_response().extension_number_size(),
                  0);
  // A request that asks for nothing.
  auto empty = s.ask(refl::ServerReflectionRequest{});
  CAF_CHECK_EQUAL(empty.error_response().error_code(),
                  static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  // Requests the node cannot take end their own stream with a status
  // saying why; the first stream lives on.
  auto refused = [&](const refl::ServerReflectionRequest& req) {
    stream bad{*stub, token};
    bad.rw->Write(req);
    refl::ServerReflectionResponse res;
    CAF_CHECK(!bad.rw->Read(&res));
    return bad.rw->Finish();
  };
  // Not UTF-8 (a proto3 string), and nested deeper than protobuf reads
  // (150 groups in the unknown fields): INVALID_ARGUMENT naming the message.
  auto deep = symbol("mesh.v1.Mesh");
  auto* fields = deep.GetReflection()->MutableUnknownFields(&deep);
  for (int i = 0; i < 150; ++i)
    fields = fields->AddGroup(99);
  for (const auto& req : {symbol("caf\xc3"), deep}) {
    auto st = refused(req);
    CAF_CHECK_EQUAL(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    MESH_CHECK_MSG(st.error_message().find(
                     "not a valid grpc.reflection.v1.ServerReflectionRequest")
                     != std::string::npos,
                   st.error_message());
  }
  // Larger than the door takes (4 MiB + 64 KiB): refused by gRPC unread.
  CAF_CHECK_EQUAL(refused(symbol(std::string(5 << 20, 'x'))).error_code(),
                  grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Still answering on the same stream.
  CAF_CHECK(s.ask(symbol("mesh.v1.Mesh")).has_file_descriptor_response());
  CAF_CHECK(s.finish().ok());
}

CAF_TEST_FIXTURE_SCOPE_END()
