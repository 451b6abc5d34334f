#define CAF_SUITE cluster.http_request_bounds
#include "check.hpp"

// What httplib 0.11 reads before any route, and so before the token check,
// against a real node's HTTP API: a compressed body it would unpack
// bounding only the bytes on the wire (500 KiB of gzip made a node hold
// 3 GB), headers without a limit on their number (200 MB of them: 247 MB),
// a chunked body of any size, a head or (with the token) a body trickled
// in to hold a request thread. Each is refused (415, 431, 413, 408, the connection closed),
// token or not, and the node's memory does not grow past its limits.
// (The gRPC door's counterpart: cluster.grpc_door_limits.)

#include <poll.h>

#include <chrono>
#include <functional>
#include <fstream>

#include <httplib.h>

#include "process.hpp"
#include "protocol/address.hpp"
#include "raw_socket.hpp"
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

// Everything the node sends on `fd` until it closes it (or 30 s pass),
// while `feed` (called every 100 ms until it returns false) sends more.
std::string answer_until_closed(int fd, const std::function<bool()>& feed) {
  std::string got;
  bool feeding = true;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return got;
      got.append(buf, static_cast<size_t>(n));
    } else if (feeding) {
      feeding = feed();
    }
  }
  return got + " (still open after 30 s)";
}

bool send_all(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
         == static_cast<ssize_t>(bytes.size());
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
  // Refused unread, the rest of the body is not taken for a next request:
  // one answer, then the connection ends.
  int fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "POST /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Encoding: gzip\r\nContent-Length: 900\r\n"
                           "\r\n" + std::string(900, 'x')));
  auto once = answer_until_closed(fd, [] { return false; });
  ::close(fd);
  MESH_CHECK_MSG(once.rfind("HTTP/1.1 415", 0) == 0, once.substr(0, 200));
  CAF_CHECK_EQUAL(once.find("HTTP/1.1", 1), std::string::npos);
  CAF_CHECK(once.find("still open") == std::string::npos);
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

CAF_TEST(a head past 64 KiB is 431 a chunked flood 413 a trickle 408) {
  node_process node{{"--id", "heads"}};
  auto before = status_kib(node.pid(), "VmHWM");
  CAF_REQUIRE(before > 0);
  // 100 headers of 500 bytes: within the bound, answered.
  auto cli = client_of(node.http());
  httplib::Headers many;
  for (int i = 0; i < 100; ++i)
    many.emplace("X-Filler-" + std::to_string(i), std::string(500, 'a'));
  auto fine = cli->Get("/v1/status", many);
  CAF_REQUIRE(fine);
  CAF_CHECK_EQUAL(fine->status, 200);
  // Header lines without end: refused once the head passes 64 KiB (the
  // node stops reading; 64 MiB were offered).
  int fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "POST /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  size_t offered = 0;
  auto line = "X-Filler: " + std::string(4000, 'a') + "\r\n";
  auto flood = answer_until_closed(fd, [&] {
    for (int i = 0; i < 64 && offered < (64u << 20); ++i) {
      if (!send_all(fd, line))
        return false;
      offered += line.size();
    }
    return offered < (64u << 20);
  });
  ::close(fd);
  MESH_CHECK_MSG(flood.rfind("HTTP/1.1 431", 0) == 0, flood.substr(0, 200));
  CAF_CHECK(flood.find("exceed 65536 bytes") != std::string::npos);
  auto after = status_kib(node.pid(), "VmHWM");
  MESH_CHECK_MSG(after < before + 16 * 1024,
                 "the node's peak grew from " << before << " to " << after
                                               << " KiB");
  // A chunked body has no Content-Length for httplib to check: the node
  // stops reading it past twice its body limit (16 MiB with the default
  // 4 MiB payloads) and answers 413; 256 MiB were offered.
  fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "POST /v1/dispatch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"));
  offered = 0;
  auto chunk = "10000\r\n" + std::string(0x10000, '0') + "\r\n";
  auto chunked = answer_until_closed(fd, [&] {
    for (int i = 0; i < 16 && offered < (256u << 20); ++i) {
      if (!send_all(fd, chunk))
        return false;
      offered += 0x10000;
    }
    return offered < (256u << 20);
  });
  ::close(fd);
  MESH_CHECK_MSG(chunked.rfind("HTTP/1.1 413", 0) == 0, chunked.substr(0, 200));
  CAF_CHECK(chunked.find("limits.max_payload_bytes") != std::string::npos);
  after = status_kib(node.pid(), "VmHWM");
  MESH_CHECK_MSG(after < before + 96 * 1024,
                 "the node's peak grew from " << before << " to " << after
                                               << " KiB");
  // A byte every 100 ms, the head never finished: 408 after 10 s.
  fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "GET /healthz HTTP/1.1\r\nX-Slow: "));
  auto start = std::chrono::steady_clock::now();
  auto slow = answer_until_closed(fd, [&] { return send_all(fd, "a"); });
  ::close(fd);
  MESH_CHECK_MSG(slow.rfind("HTTP/1.1 408", 0) == 0, slow.substr(0, 200));
  CAF_CHECK(slow.find("did not arrive within 10 s") != std::string::npos);
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - start,
                             std::chrono::seconds{9});
  // Two requests in one write (pipelined) are both answered, in order.
  fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                           "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: close\r\n\r\n"));
  auto both = answer_until_closed(fd, [] { return false; });
  ::close(fd);
  auto second = both.find("HTTP/1.1 200", 1);
  MESH_CHECK_MSG(both.rfind("HTTP/1.1 200", 0) == 0
                   && second != std::string::npos,
                 both.substr(0, 300));
  CAF_CHECK(both.find("\"uptime_s\"") != std::string::npos);
  CAF_CHECK(node.running());
}

CAF_TEST(no body is read for a caller without the token or for a GET) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process node{{"--id", "nobody", "--console-token-file",
                     dir.file("token")}};
  // A POST announcing a body it does not send (a body trickled in would
  // hold a request thread): without the token it is answered at once, 401,
  // and the connection closed; the body is never awaited.
  int fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "POST /v1/dispatch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: 4000000\r\n\r\n{"));
  auto start = std::chrono::steady_clock::now();
  auto refused = answer_until_closed(fd, [] { return false; });
  ::close(fd);
  MESH_CHECK_MSG(refused.rfind("HTTP/1.1 401", 0) == 0, refused.substr(0, 200));
  CAF_CHECK(refused.find("needs a valid token") != std::string::npos);
  CAF_CHECK(refused.find("still open") == std::string::npos);
  // httplib waits 5 s for a body byte before it gives up.
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - start,
                 std::chrono::seconds{4});
  // A GET takes no body, token or not, on any route.
  fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Length: 4000000\r\n\r\n"));
  auto get = answer_until_closed(fd, [] { return false; });
  ::close(fd);
  MESH_CHECK_MSG(get.rfind("HTTP/1.1 400", 0) == 0, get.substr(0, 200));
  CAF_CHECK(get.find("GET takes no body") != std::string::npos);
  // With the token the same POST is read and answered.
  auto cli = client_of(node.http());
  httplib::Headers token{{"Authorization", "Bearer s3cret-token"}};
  auto r = cli->Post("/v1/status", token, "{}", "application/json");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->status, 200);
  // An empty Content-Length is no body: a GET with "0" passes.
  httplib::Headers zero{{"Content-Length", "0"}};
  auto ok = cli->Get("/healthz", zero);
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(ok->status, 200);
}

CAF_TEST(a body trickled in with the token is 408 and a slow steady one passes) {
  temp_dir dir;
  std::ofstream{dir.file("token")} << "s3cret-token\n";
  node_process node{{"--id", "slowbody", "--console-token-file",
                     dir.file("token"), "--plugin",
                     bin("libmesh_example_handlers.so")}};
  auto head = [](size_t length) {
    return "POST /v1/dispatch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Authorization: Bearer s3cret-token\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: "
           + std::to_string(length) + "\r\n\r\n";
  };
  // A byte every 100 ms of a 100,000-byte body would hold one of the 16
  // request threads for almost three hours; now 408 once its 10 s are up.
  int fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, head(100000) + "{"));
  auto start = std::chrono::steady_clock::now();
  auto trickled = answer_until_closed(fd, [&] { return send_all(fd, " "); });
  ::close(fd);
  MESH_CHECK_MSG(trickled.rfind("HTTP/1.1 408", 0) == 0,
                 trickled.substr(0, 200));
  CAF_CHECK(trickled.find("body did not arrive in time") != std::string::npos);
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - start,
                             std::chrono::seconds{9});
  // A body of 1 MiB at 80 KiB a second takes 13 s: past the 10 s, but
  // within its second per 64 KiB brought. Answered.
  auto body = echo_body(1 << 20);
  fd = dial_raw(node.http());
  CAF_REQUIRE(fd >= 0);
  CAF_REQUIRE(send_all(fd, head(body.size())));
  size_t sent = 0;
  start = std::chrono::steady_clock::now();
  auto steady = answer_until_closed(fd, [&] {
    auto n = std::min<size_t>(8192, body.size() - sent);
    if (!send_all(fd, body.substr(sent, n)))
      return false;
    sent += n;
    return sent < body.size();
  });
  ::close(fd);
  MESH_CHECK_MSG(steady.rfind("HTTP/1.1 200", 0) == 0, steady.substr(0, 200));
  CAF_CHECK(steady.find("\"handled_by\":\"slowbody\"") != std::string::npos);
  CAF_CHECK_GREATER(std::chrono::steady_clock::now() - start,
                    std::chrono::seconds{10});
  CAF_CHECK(node.running());
}

CAF_TEST(idle and slow connections hold no request thread) {
  node_process n{{"--plugin", bin("libmesh_example_handlers.so")}};
  // Each of these held one of the 16 request threads (an idle connection
  // for 2 s, a head coming a byte at a time for up to 10 s), token or not:
  // 300 idle and 50 slow ones kept a health check waiting 40 s or more.
  std::vector<int> idle, slow;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(dial_raw(n.http()));
    CAF_REQUIRE(idle.back() >= 0);
  }
  for (int i = 0; i < 50; ++i) {
    slow.push_back(dial_raw(n.http()));
    CAF_REQUIRE(slow.back() >= 0);
    CAF_CHECK(send_all(slow.back(), "GET /healthz HTTP/1.1\r\n"));
  }
  auto start = std::chrono::steady_clock::now();
  auto res = client_of(n.http())->Get("/healthz");
  auto took = std::chrono::steady_clock::now() - start;
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 200);
  // Answered while the idle ones still wait (they are closed after 2 s).
  CAF_CHECK_LESS(took, 2s);
  auto r = meshctl_json(n.http(), {"dispatch", "echo", "EchoService", "Echo",
                                      "--payload", R"({"k":1})"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(closed_within(idle, 10s), idle.size());
  // The slow heads are answered 408 once their 10 s are over.
  size_t timed_out = 0;
  for (int fd : slow)
    if (answer_until_closed(fd, [] { return false; })
          .rfind("HTTP/1.1 408", 0)
        == 0)
      ++timed_out;
  CAF_CHECK_EQUAL(timed_out, slow.size());
  // Bytes that are no request at all are answered 400 in words and the
  // connection closed at once (what followed was read as the next request).
  int junk = dial_raw(n.http());
  CAF_REQUIRE(junk >= 0);
  std::string no_request("\x00\xff\xfe junk \x80\r\n\r\n", 14);
  CAF_CHECK(send_all(junk, no_request));
  auto sent = std::chrono::steady_clock::now();
  auto answer = answer_until_closed(junk, [] { return false; });
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - sent, 5s);
  CAF_CHECK_EQUAL(answer.rfind("HTTP/1.1 400", 0), 0u);
  CAF_CHECK(answer.find("is not HTTP/1.1") != std::string::npos);
  ::close(junk);
  for (int fd : idle)
    ::close(fd);
  for (int fd : slow)
    ::close(fd);
}
