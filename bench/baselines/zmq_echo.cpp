// zmq_echo: the ZeroMQ baseline for meshbench (issue 16 names ZeroMQ as the
// peer whose batching Mesh's data plane is measured against). libzmq 4.3
// from Debian, its C API, one I/O thread per process (ZeroMQ's default):
//   zmq_echo serve                   ROUTER bound to tcp://127.0.0.1:*;
//                                    print {"port":N}; echo every message to
//                                    the peer that sent it until SIGTERM
//   zmq_echo client --target H:P ... DEALER, closed loop with --in-flight
//                                    messages of --payload-bytes; print the
//                                    figures as JSON (tcp_echo's fields)
// DEALER/ROUTER at every depth: at one in flight it does what REQ/REP does
// (one message, one answer) without REQ's envelope frame. ZeroMQ batches
// on its own: its I/O thread writes whatever the pipe holds in one send.

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include <zmq.h>

#include "bench/baselines/echo_program.hpp"
#include "bench/load_driver.hpp"
#include "protocol/address.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using mesh::bench::echo_options;
using mesh::bench::echo_stop;

int fail(const std::string& what) {
  std::cerr << "zmq_echo: " << what << ": " << zmq_strerror(zmq_errno())
            << "\n";
  return 1;
}

// The port of a socket bound to "tcp://127.0.0.1:*" (0 when unknown).
int bound_port(void* socket) {
  char endpoint[256] = {};
  size_t size = sizeof(endpoint);
  if (zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0)
    return 0;
  std::string text{endpoint};
  auto colon = text.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(text.c_str() + colon + 1);
}

// Every message goes back to the peer it came from: ROUTER's first frame
// names the peer, the second is the payload.
int serve() {
  void* ctx = zmq_ctx_new();
  void* router = zmq_socket(ctx, ZMQ_ROUTER);
  int linger = 0;
  int unbounded = 0; // ZeroMQ drops what a ROUTER cannot queue: never here
  zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof(linger));
  zmq_setsockopt(router, ZMQ_SNDHWM, &unbounded, sizeof(unbounded));
  zmq_setsockopt(router, ZMQ_RCVHWM, &unbounded, sizeof(unbounded));
  if (zmq_bind(router, "tcp://127.0.0.1:*") != 0)
    return fail("cannot listen");
  int port = bound_port(router);
  if (port == 0)
    return fail("cannot read the bound port");
  std::cout << "{\"port\":" << port << "}" << std::endl;
  zmq_msg_t peer, body;
  zmq_msg_init(&peer);
  zmq_msg_init(&body);
  while (!echo_stop) {
    // A signal interrupts a blocking receive (EINTR): the loop ends.
    if (zmq_msg_recv(&peer, router, 0) < 0 || !zmq_msg_more(&peer)
        || zmq_msg_recv(&body, router, 0) < 0)
      continue;
    if (zmq_msg_send(&peer, router, ZMQ_SNDMORE) < 0
        || zmq_msg_send(&body, router, 0) < 0)
      continue;
  }
  zmq_msg_close(&peer);
  zmq_msg_close(&body);
  zmq_close(router);
  zmq_ctx_term(ctx);
  return 0;
}

int client(const echo_options& o) {
  std::string error;
  auto hp = mesh::parse_host_port(o.target, error);
  if (!hp) {
    std::cerr << "zmq_echo: " << error << "\n";
    return 1;
  }
  void* ctx = zmq_ctx_new();
  void* dealer = zmq_socket(ctx, ZMQ_DEALER);
  int linger = 0;
  int patience_ms = 10000; // a server that stopped answering ends the run
  int depth = static_cast<int>(o.in_flight) + 16; // never a full pipe
  zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
  zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &patience_ms, sizeof(patience_ms));
  zmq_setsockopt(dealer, ZMQ_SNDHWM, &depth, sizeof(depth));
  zmq_setsockopt(dealer, ZMQ_RCVHWM, &depth, sizeof(depth));
  auto endpoint = "tcp://127.0.0.1:" + std::to_string(hp->port);
  if (zmq_connect(dealer, endpoint.c_str()) != 0)
    return fail("cannot connect to " + endpoint);
  const std::string message(o.payload_bytes, 'x');
  std::vector<char> buf(o.payload_bytes + 1);
  auto start = clock_type::now();
  auto measure_from = start + std::chrono::milliseconds{o.warmup_ms};
  auto end = measure_from + std::chrono::milliseconds{o.duration_ms};
  mesh::bench::load_result result;
  result.latencies_ns.reserve(1 << 22);
  std::deque<clock_type::time_point> sent_at; // one connection: FIFO
  auto send_one = [&](clock_type::time_point now) {
    if (zmq_send(dealer, message.data(), message.size(), 0) < 0) {
      if (result.first_error.empty())
        result.first_error = std::string{"cannot send: "}
                             + zmq_strerror(zmq_errno());
      return false;
    }
    sent_at.push_back(now);
    return true;
  };
  size_t outstanding = 0;
  for (size_t i = 0; i < o.in_flight; ++i)
    outstanding += send_one(clock_type::now()) ? 1 : 0;
  // Answers are taken while they are there; their replacements go out
  // together once none is left, as tcp_echo does (against one send per
  // answer: as many or 2-3 % more messages/s here, a 7 % lower p50), so
  // the baseline is at its best.
  size_t due = 0;
  while (outstanding > 0) {
    auto n = zmq_recv(dealer, buf.data(), buf.size(),
                      due > 0 ? ZMQ_DONTWAIT : 0);
    if (n < 0 && zmq_errno() == EAGAIN && due > 0) {
      auto now = clock_type::now();
      for (; due > 0; --due)
        if (now >= end || !send_one(now))
          --outstanding;
      continue;
    }
    if (n < 0 && zmq_errno() == EINTR && !echo_stop)
      continue;
    if (n < 0) {
      result.first_error = zmq_errno() == EAGAIN
                             ? "no answer within 10 s"
                             : std::string{"no answer: "}
                                 + zmq_strerror(zmq_errno());
      break;
    }
    auto now = clock_type::now();
    auto t = sent_at.front();
    sent_at.pop_front();
    if (static_cast<size_t>(n) != message.size()) {
      ++result.failed;
      if (result.first_error.empty())
        result.first_error = "an answer of the wrong size";
    } else if (t >= measure_from && now < end) {
      ++result.ok;
      result.latencies_ns.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - t)
          .count()));
    }
    ++due;
  }
  zmq_close(dealer);
  zmq_ctx_term(ctx);
  return mesh::bench::print_echo_result(result, o);
}

} // namespace

int main(int argc, char** argv) {
  return mesh::bench::run_echo_program(
    argc, argv, "zmq_echo: ZeroMQ baseline for meshbench", serve, client);
}
