#pragma once

// tcp_pair: a TCP connection to a listener on 127.0.0.1 from a socket bound
// to `from` (an address of the loopback network); close() both ends. For
// the transport tests that ask a socket where its peer is.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.hpp"

namespace mesh::test {

struct tcp_pair {
  int accepted = -1;
  int dialled = -1;

  explicit tcp_pair(const char* from = "127.0.0.1") {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    CAF_REQUIRE(listener >= 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CAF_REQUIRE_EQUAL(::bind(listener, reinterpret_cast<sockaddr*>(&at),
                             sizeof at),
                      0);
    CAF_REQUIRE_EQUAL(::listen(listener, 1), 0);
    socklen_t len = sizeof at;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len);
    dialled = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    CAF_REQUIRE_EQUAL(::inet_pton(AF_INET, from, &source.sin_addr), 1);
    CAF_REQUIRE_EQUAL(::bind(dialled, reinterpret_cast<sockaddr*>(&source),
                             sizeof source),
                      0);
    CAF_REQUIRE_EQUAL(::connect(dialled, reinterpret_cast<sockaddr*>(&at),
                                sizeof at),
                      0);
    accepted = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    CAF_REQUIRE(accepted >= 0);
  }

  ~tcp_pair() {
    ::close(accepted);
    ::close(dialled);
  }

  tcp_pair(const tcp_pair&) = delete;
  tcp_pair& operator=(const tcp_pair&) = delete;
};

} // namespace mesh::test
