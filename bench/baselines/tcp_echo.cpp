// tcp_echo: the raw TCP baseline for meshbench, the physical limit beneath
// both Mesh and CAF. No actors, no serialisation, no framing beyond the
// fixed message size: two processes on 127.0.0.1, TCP_NODELAY on both ends.
//   tcp_echo serve                   listen on 127.0.0.1:0; print {"port":N};
//                                    echo every byte back until SIGTERM
//   tcp_echo client --target H:P ... closed loop with --in-flight messages of
//                                    --payload-bytes; print the figures as
//                                    JSON (the same fields as caf_echo's)
// The client keeps N messages outstanding: every message that comes back
// is replaced at once by a new one; the replacements for all messages one
// read returned go out in one write (what a transport that batches does,
// which is why this is the limit).

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/baselines/echo_program.hpp"
#include "bench/load_driver.hpp"
#include "protocol/address.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using mesh::bench::echo_options;
using mesh::bench::echo_stop;

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// One connection at a time, echoed until the peer closes it.
int serve() {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::listen(lfd, 4) != 0
      || ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::cerr << "tcp_echo: cannot listen: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::cout << "{\"port\":" << ntohs(addr.sin_port) << "}" << std::endl;
  std::vector<char> buf(1 << 16);
  while (!echo_stop) {
    int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0)
      continue; // EINTR on SIGTERM: the loop condition ends it
    no_delay(fd);
    for (;;) {
      auto n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR && !echo_stop)
        continue;
      if (n <= 0 || !write_all(fd, buf.data(), static_cast<size_t>(n)))
        break;
    }
    ::close(fd);
  }
  ::close(lfd);
  return 0;
}

int client(const echo_options& o) {
  std::string error;
  auto hp = mesh::parse_host_port(o.target, error);
  if (!hp) {
    std::cerr << "tcp_echo: " << error << "\n";
    return 1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(hp->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::cerr << "tcp_echo: cannot connect: " << std::strerror(errno) << "\n";
    return 1;
  }
  no_delay(fd);
  const size_t size = o.payload_bytes;
  std::string message(size, 'x');
  auto start = clock_type::now();
  auto measure_from = start + std::chrono::milliseconds{o.warmup_ms};
  auto end = measure_from + std::chrono::milliseconds{o.duration_ms};
  mesh::bench::load_result result;
  result.latencies_ns.reserve(1 << 22);
  std::deque<clock_type::time_point> sent_at; // FIFO: echoes come in order
  std::string out;                            // written, not yet sent
  size_t sent = 0, received = 0;              // bytes
  auto enqueue = [&](size_t count, clock_type::time_point now) {
    for (size_t i = 0; i < count; ++i) {
      out += message;
      sent_at.push_back(now);
    }
  };
  // Sends what the socket takes without blocking; blocks only when no byte
  // is in the air (then the echo of nothing could ever wake the read).
  auto flush = [&]() -> bool {
    while (!out.empty()) {
      auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (sent > received)
          return true; // the read below makes room
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    return true;
  };
  enqueue(o.in_flight, clock_type::now());
  size_t outstanding = o.in_flight, partial = 0;
  std::vector<char> buf(1 << 16);
  while (outstanding > 0) {
    if (!flush())
      break;
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      result.first_error = "the server closed the connection";
      break;
    }
    received += static_cast<size_t>(n);
    partial += static_cast<size_t>(n);
    auto complete = partial / size;
    partial %= size;
    auto now = clock_type::now();
    for (size_t i = 0; i < complete; ++i) {
      auto t = sent_at.front();
      sent_at.pop_front();
      if (t >= measure_from && now < end) {
        ++result.ok;
        result.latencies_ns.push_back(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - t)
            .count()));
      }
    }
    if (now < end)
      enqueue(complete, now);
    else
      outstanding -= complete;
  }
  ::close(fd);
  return mesh::bench::print_echo_result(result, o);
}

} // namespace

int main(int argc, char** argv) {
  return mesh::bench::run_echo_program(
    argc, argv, "tcp_echo: raw TCP baseline for meshbench", serve, client);
}
