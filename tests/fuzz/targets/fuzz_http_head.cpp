// Fuzz target: what the HTTP API's lobby reads of a connection between two
// requests (http/connection_lobby.hpp): head_ready on any bytes, and
// read_head over a real socket pair fed the input in pieces, the first
// byte choosing the piece size. Whatever the bytes (NULs, no CRLF, a head
// past the limit, a client that hangs up mid-head): read_head keeps what
// came in order, says `ready` exactly when head_ready holds for it, stops
// reading once it does, and says `closed` only once every byte was read.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/connection_lobby.hpp"

namespace {

constexpr size_t max_head = 1024;     // small: the limit is reached often
constexpr size_t max_input = 32 * 1024; // within a socket's buffer

bool expected_ready(const std::string& bytes) {
  return bytes.size() > max_head || bytes.find("\n\r\n") != std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > max_input)
    return 0;
  size_t piece = 1 + data[0] % 64;
  std::string input{reinterpret_cast<const char*>(data) + 1, size - 1};
  if (mesh::head_ready(input, max_head) != expected_ready(input))
    __builtin_trap();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
    return 0;
  mesh::parked_connection c;
  c.fd = fds[0];
  auto state = mesh::head_state::pending;
  size_t sent = 0;
  // Each piece, then what the lobby's thread would read of it.
  while (state == mesh::head_state::pending) {
    if (sent == input.size()) {
      ::shutdown(fds[1], SHUT_WR); // the client hangs up
    } else {
      auto n = std::min(piece, input.size() - sent);
      if (::send(fds[1], input.data() + sent, n, MSG_NOSIGNAL)
          != static_cast<ssize_t>(n))
        __builtin_trap();
      sent += n;
    }
    state = mesh::read_head(c, max_head);
    // In order, nothing made up, the clock set with the first byte.
    if (c.bytes.size() > sent
        || input.compare(0, c.bytes.size(), c.bytes) != 0)
      __builtin_trap();
    if (c.bytes.empty() != (c.head_at == decltype(c.head_at){}))
      __builtin_trap();
    if (state == mesh::head_state::ready && !expected_ready(c.bytes))
      __builtin_trap();
    // Pending: what came is no head yet, and all of it was read.
    if (state == mesh::head_state::pending
        && (expected_ready(c.bytes) || c.bytes.size() != sent))
      __builtin_trap();
  }
  // Closed only when the client hung up with no head in what it sent.
  if (state == mesh::head_state::closed
      && (c.bytes != input || expected_ready(input)))
    __builtin_trap();
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}
