#define CAF_SUITE cluster.compressed_body
#include "check.hpp"

// A compressed request body against a real node's HTTP API: httplib would
// unpack gzip or brotli while reading it, bounding only the bytes on the
// wire, before any route and so before the token check (500 KiB of gzip
// made a node hold 3 GB). The node refuses it unread (415, connection
// closed), token or not, and its memory does not grow. (The gRPC door's
// counterpart: cluster.grpc_door_limits.)

#include <fstream>

#include <httplib.h>

#include "process.hpp"
#include "protocol/address.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

std::unique_ptr<httplib::Client> client_of(const std::string& address) {
  std::string error;
  auto hp = mesh::parse_host_port(address, error);
  CAF_REQUIRE(hp.has_value());
  auto cli = std::make_unique<httplib::Client>(hp->host, hp->port);
  cli->set_read_timeout(30, 0);
  return cli;
}

// A dispatch of the example echo whose payload is `zeros` bytes of "0".
std::string echo_body(size_t zeros) {
  return R"({"namespace": "echo", "service": "EchoService", "method": "Echo",
             "payload": {"z": ")"
         + std::string(zeros, '0') + "\"}}";
}

} // namespace

CAF_TEST(a compressed body is refused unread with a token or without) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process node{{"--id", "packed", "--plugin",
                     bin("libmesh_example_handlers.so"),
                     "--console-token-file", dir.file("token")}};
  httplib::Headers token{{"Authorization", "Bearer s3cret-token"}};
  auto before = status_kib(node.pid(), "VmHWM");
  CAF_REQUIRE(before > 0);
  // 96 MiB that gzip packs into about 96 KiB: far under the body limit as
  // httplib checks it (the bytes on the wire).
  auto bomb = echo_body(96u << 20);
  for (const auto& headers : {httplib::Headers{}, token}) {
    auto cli = client_of(node.http());
    cli->set_compress(true); // httplib gzips the body: Content-Encoding gzip
    auto r = cli->Post("/v1/dispatch", headers, bomb, "application/json");
    CAF_REQUIRE(r);
    CAF_CHECK_EQUAL(r->status, 415);
    CAF_CHECK_EQUAL(r->get_header_value("Connection"), "close");
    auto doc = json::parse(r->body, nullptr, false);
    CAF_CHECK_EQUAL(doc.value("status", ""), "invalid_argument");
    CAF_CHECK(doc.value("error", "").find("send it uncompressed")
              != std::string::npos);
  }
  auto after = status_kib(node.pid(), "VmHWM");
  MESH_CHECK_MSG(after < before + 48 * 1024,
                 "the node's peak grew from " << before << " to " << after
                                               << " KiB");
  // Any other encoding too, on any route; "identity" is no compression.
  auto cli = client_of(node.http());
  for (const char* encoding : {"br", "deflate"}) {
    httplib::Headers h{{"Content-Encoding", encoding}};
    auto r = cli->Get("/healthz", h);
    CAF_REQUIRE(r);
    CAF_CHECK_EQUAL(r->status, 415);
  }
  auto h = token;
  h.emplace("Content-Encoding", "identity");
  auto r = cli->Post("/v1/dispatch", h, echo_body(10), "application/json");
  CAF_REQUIRE(r);
  MESH_CHECK_MSG(r->status == 200, r->status << " " << r->body);
  CAF_CHECK(node.running());
}
