#define CAF_SUITE cluster.grpc_keepalive
#include "check.hpp"

// The gRPC front door's keepalive (grpc.keepalive), against real meshnode
// processes: the door closes a connection whose client stopped answering
// its pings, keeps one that answers, lets a client ping an idle
// connection as often as the node allows (gRPC's own policy sends it away),
// and closes one that never says hello.

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "grpc_test_support.hpp"
#include "process.hpp"
#include "protocol/grpc/health.grpc.pb.h"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

// A node whose gRPC door has these keepalive settings (none: the defaults).
std::vector<std::string> door_args(temp_dir& dir, const std::string& id,
                                   const json& keepalive) {
  json grpc{{"listen", "127.0.0.1:0"}};
  if (!keepalive.is_null())
    grpc["keepalive"] = keepalive;
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", "127.0.0.1:0"},
           {"grpc", grpc}};
  return {"--config", dir.write(id + ".json", cfg.dump()), "--id", id};
}

// A bare HTTP/2 client on a socket: enough of the protocol to be a gRPC
// connection (preface, SETTINGS and their ACK), answering pings or not.
class h2_peer {
public:
  explicit h2_peer(const std::string& address) : fd_(dial_raw(address)) {
    CAF_REQUIRE(fd_ >= 0);
    std::string hello = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    hello += frame(4, 0, ""); // SETTINGS, none changed
    send_all(hello);
  }

  ~h2_peer() {
    ::close(fd_);
  }

  /// Reads frames until the door has sent `pings` pings (true) or closed
  /// the connection or 10 s passed (false). Pings are answered when
  /// `answer`; they are counted in pings_seen().
  bool until_pings(int pings, bool answer) {
    while (pings_ < pings)
      if (!next_frame(answer))
        return false;
    return true;
  }

  /// Reads frames, pings unanswered, until the door closes (true) or 10 s
  /// pass (false).
  bool until_closed() {
    while (next_frame(false))
      ;
    return closed_;
  }

  int pings_seen() const {
    return pings_;
  }

private:
  static std::string frame(uint8_t type, uint8_t flags,
                           const std::string& body) {
    auto n = body.size();
    std::string out{static_cast<char>((n >> 16) & 0xff),
                    static_cast<char>((n >> 8) & 0xff),
                    static_cast<char>(n & 0xff), static_cast<char>(type),
                    static_cast<char>(flags), 0, 0, 0, 0};
    return out + body;
  }

  void send_all(const std::string& bytes) {
    CAF_REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                == static_cast<ssize_t>(bytes.size()));
  }

  // Exactly n bytes, or false (closed, or nothing for 10 s).
  bool read_exactly(std::string& out, size_t n) {
    out.resize(n);
    size_t got = 0;
    while (got < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0)
        return false;
      auto r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) {
        closed_ = true;
        return false;
      }
      got += static_cast<size_t>(r);
    }
    return true;
  }

  bool next_frame(bool answer_pings) {
    std::string head;
    std::string body;
    if (!read_exactly(head, 9))
      return false;
    auto u = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
    size_t len = (size_t{u(0)} << 16) | (size_t{u(1)} << 8) | u(2);
    if (len > 0 && !read_exactly(body, len))
      return false;
    bool ack = (u(4) & 1) != 0;
    if (u(3) == 4 && !ack) // SETTINGS: acknowledged, as any client does
      send_all(frame(4, 1, ""));
    if (u(3) == 6 && !ack) { // PING
      ++pings_;
      if (answer_pings)
        send_all(frame(6, 1, body));
    }
    return true;
  }

  int fd_;
  int pings_ = 0;
  bool closed_ = false;
};

// A channel whose client pings as often as it can, with calls or without
// (gRPC 1.51's client spaces its pings a second apart whatever it is told).
std::shared_ptr<grpc::Channel> eager_pinger(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 100);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

// gRPC's health check answers SERVING on `channel` (no token needed).
bool serving(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse res;
  auto ctx = context();
  auto st = stub->Check(ctx.get(), req, &res);
  return st.ok()
         && res.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

} // namespace

CAF_TEST(the door closes a connection whose client stopped answering pings) {
  temp_dir dir;
  node_process a{door_args(dir, "a", {{"time_ms", 200}, {"timeout_ms", 300}})};
  // A client that answers stays: three pings answered, still connected.
  h2_peer alive{a.grpc()};
  CAF_CHECK(alive.until_pings(3, true));
  // One that stops answering (a client gone without a FIN) is closed. With
  // gRPC's defaults no ping came for 2 hours and the connection stayed.
  h2_peer gone{a.grpc()};
  CAF_CHECK(gone.until_closed());
  CAF_CHECK_GREATER_OR_EQUAL(gone.pings_seen(), 1);
  // The answering one is still served.
  CAF_CHECK(alive.until_pings(alive.pings_seen() + 1, true));
  CAF_CHECK(serving(grpc::CreateChannel(a.grpc(),
                                        grpc::InsecureChannelCredentials())));
}

CAF_TEST(a client may ping an idle connection as often as the node allows) {
  temp_dir dir;
  node_process tolerant{door_args(dir, "t", {{"min_client_ping_ms", 50}})};
  node_process strict{door_args(dir, "s", nullptr)}; // 10 s, the default
  auto ok = eager_pinger(tolerant.grpc());
  auto away = eager_pinger(strict.grpc());
  CAF_REQUIRE(serving(ok));
  CAF_REQUIRE(serving(away));
  // Both idle now, their clients pinging every second. The strict node
  // sends its client away at the third (GOAWAY too_many_pings): the
  // channel leaves READY. The tolerant one keeps its connection.
  auto until = std::chrono::system_clock::now() + 6s;
  CAF_CHECK(away->WaitForStateChange(GRPC_CHANNEL_READY, until));
  CAF_CHECK(!ok->WaitForStateChange(GRPC_CHANNEL_READY, until));
  CAF_CHECK_EQUAL(ok->GetState(false), GRPC_CHANNEL_READY);
  CAF_CHECK(serving(ok));
}

CAF_TEST(a connection that never says hello is closed after 10 s) {
  temp_dir dir;
  node_process a{door_args(dir, "a", nullptr)};
  // Connected, and nothing sent: no TLS handshake, no HTTP/2 preface.
  // gRPC waits 120 s for them; the door 10 s, as HTTP waits for a head.
  int fd = dial_raw(a.grpc());
  CAF_REQUIRE(fd >= 0);
  auto start = std::chrono::steady_clock::now();
  auto closed = closed_within({fd}, 40s);
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  CAF_CHECK_EQUAL(closed, 1u);
  CAF_CHECK_GREATER_OR_EQUAL(took, 9s);
  CAF_CHECK_LESS(took, 30s);
  // A client that speaks is served as ever.
  CAF_CHECK(serving(grpc::CreateChannel(a.grpc(),
                                        grpc::InsecureChannelCredentials())));
}
