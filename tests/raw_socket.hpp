#pragma once

// A stranger's plain TCP socket, for tests that knock at a node's ports:
// a blocking connect to 127.0.0.1, and whether the other side closes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace mesh::test {

/// Connects to 127.0.0.1:`port` (or "host:port", IPv4), or returns -1.
inline int dial_raw(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0
      && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int dial_raw(uint16_t port) {
  return dial_raw("127.0.0.1:" + std::to_string(port));
}

/// Connects to 127.0.0.1:`port` from the loopback address `from` (any of
/// 127.0.0.0/8: another caller as the node sees it), or returns -1.
inline int dial_raw_from(const char* from, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &local.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (fd >= 0
      && (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0
          || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// True once the other side has closed `fd` (reads until EOF or a reset),
/// false when it stays open for 10 s.
inline bool closed_by_peer(int fd) {
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false; // timed out: still open
  }
}

/// Polls `fds` for `events` until each is settled or `limit` passed:
/// `settle(fd)`, asked for an fd that polled ready, says 1 (settled,
/// counted), 0 (settled, not counted) or -1 (not yet); how many counted.
template <class Settle>
size_t poll_each(const std::vector<int>& fds, short events,
                 std::chrono::milliseconds limit, Settle settle) {
  std::vector<pollfd> open;
  for (int fd : fds)
    open.push_back({fd, events, 0});
  size_t counted = 0;
  size_t left = fds.size();
  auto until = std::chrono::steady_clock::now() + limit;
  while (left > 0 && std::chrono::steady_clock::now() < until) {
    if (::poll(open.data(), open.size(), 100) <= 0)
      continue; // nothing yet, or a signal: look again
    for (auto& p : open) {
      if (p.fd < 0 || p.revents == 0)
        continue;
      auto verdict = settle(p.fd);
      if (verdict < 0)
        continue;
      counted += static_cast<size_t>(verdict);
      --left;
      p.fd = -1; // poll skips it from now on
    }
  }
  return counted;
}

/// How many of `fds` the other side closes (EOF or a reset) within `limit`,
/// however quiet they stay meanwhile (closed_by_peer gives up after 10 s of
/// quiet). Bytes that come are read and dropped; the fds stay open.
inline size_t closed_within(const std::vector<int>& fds,
                            std::chrono::milliseconds limit) {
  return poll_each(fds, POLLIN, limit, [](int fd) {
    char buf[512];
    return ::recv(fd, buf, sizeof buf, 0) <= 0 ? 1 : -1;
  });
}

/// Starts a non-blocking connect to 127.0.0.1:`port`; the fd, or -1.
inline int start_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0
      && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// How many of `fds` (from start_connect) finish connecting within `limit`.
inline size_t connected_within(const std::vector<int>& fds,
                               std::chrono::milliseconds limit) {
  return poll_each(fds, POLLOUT, limit, [](int fd) {
    int err = 1;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0 ? 1 : 0;
  });
}

/// Closes every fd it holds when it goes.
struct fd_set_guard {
  std::vector<int> fds;
  ~fd_set_guard() {
    for (int fd : fds)
      ::close(fd);
  }
};

} // namespace mesh::test
