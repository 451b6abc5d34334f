#include "cluster/transport/data_sockets.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace mesh::data_sockets {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

void tune_socket(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  int idle = 10, interval = 5, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  unsigned timeout_ms = 30000; // unacknowledged data
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms,
               sizeof(timeout_ms));
}

void close_gracefully(int fd, std::string& pending, int64_t until) {
  if (pending.empty())
    ::shutdown(fd, SHUT_WR);
  char buf[4096];
  while (now_ms() < until) {
    if (!pending.empty()) {
      auto n = ::send(fd, pending.data(), pending.size(),
                      MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0)
        pending.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        break;
      if (pending.empty())
        ::shutdown(fd, SHUT_WR);
    }
    auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      break;
    if (n < 0) {
      // Wait for the peer's bytes (or room to send), not a fixed nap.
      pollfd p{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)),
               0};
      ::poll(&p, 1, static_cast<int>(std::max<int64_t>(until - now_ms(), 0)));
    }
  }
}

std::string address_bytes(const sockaddr_storage& sa) {
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    return {reinterpret_cast<const char*>(&in.sin_addr), sizeof in.sin_addr};
  }
  if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    return {reinterpret_cast<const char*>(&in6.sin6_addr),
            sizeof in6.sin6_addr};
  }
  return {};
}

bool same_host(int fd) {
  sockaddr_storage here{};
  sockaddr_storage there{};
  socklen_t here_len = sizeof here;
  socklen_t there_len = sizeof there;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&here), &here_len) != 0
      || ::getpeername(fd, reinterpret_cast<sockaddr*>(&there), &there_len)
           != 0)
    return false;
  if (here.ss_family == AF_UNIX)
    return true;
  auto ours = address_bytes(here);
  return !ours.empty() && ours == address_bytes(there);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

addrinfo* resolve(const std::string& host, uint16_t port, bool passive,
                  std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* out = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &out);
      rc != 0) {
    why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  return out;
}

} // namespace mesh::data_sockets
