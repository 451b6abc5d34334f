#pragma once

// bounded_server: httplib's server with each request's head (its request
// line and headers) bounded in size and in time, and its body in size.
// httplib 0.11 (Debian 12) reads, before any route and so before the
// token check, header lines without a limit on their number (200 MB of
// headers took a node from 36 to 247 MB) and a chunked body of any size
// (its payload limit holds for a Content-Length only: 196 MB chunked took
// a node to 298 MB); and a client sending a byte every few seconds held
// one of the 16 request threads for as long as it liked.
//
// It takes over httplib's connection loop (process_and_close_socket, which
// httplib lets a subclass override) with a stream of its own that reads
// through a buffer, as httplib's does, and refuses a head past
// max_head_bytes or not complete within head_deadline of its first byte,
// a body past twice the payload limit on the wire, and a body slower than
// min_body_rate once body_grace has passed (a caller with the token could
// trickle a 4 MB body a byte at a time and hold a thread): the read fails,
// httplib answers 400, and the error handler reads last_refusal() to
// answer 431, 408 or 413 in words instead; the connection is then closed.
// Compressed bodies are refused before they are read (http_guard.hpp).
// Between requests, and while a head is still coming, a connection waits
// in the lobby (connection_lobby.hpp), not on a request thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <httplib.h>

#include "http/connection_lobby.hpp"

namespace mesh {

class bounded_server : public httplib::Server {
public:
  static constexpr size_t max_head_bytes = 64 * 1024;
  static constexpr std::chrono::seconds head_deadline{10};
  /// How long an idle connection stays open between requests.
  static constexpr std::chrono::seconds keep_alive{2};
  /// How long a request thread waits for a head before it hands the
  /// connection to the lobby (a client that sends its next request right
  /// after an answer is served without the hop).
  static constexpr std::chrono::milliseconds hot_wait{2};
  /// Connections the lobby holds at most (then it closes the oldest).
  static constexpr size_t max_parked = 4096;
  /// A body may take body_grace, and a second more for every
  /// min_body_rate bytes it has brought (measured from the end of its head).
  static constexpr std::chrono::seconds body_grace{10};
  static constexpr size_t min_body_rate = 64 * 1024; ///< bytes a second

  /// Why the request being answered on this thread was cut (the HTTP
  /// status, 431, 408 or 413, and the reason; none for 413: the error
  /// handler says it as for any body over the limit), or status 0.
  struct refusal {
    int status = 0;
    std::string reason;
  };
  static refusal last_refusal();

  /// Closes the connection once the current request is answered (a route
  /// that answered without reading the body: what is left of it must not
  /// be read as the next request). Call on the request's thread.
  static void close_after_answer();

  /// `threads` request threads (a request holds one until it is
  /// answered: a workflow run's wait, minutes); connections wait for their
  /// next request in the lobby, without one.
  explicit bounded_server(size_t threads = 16);
  ~bounded_server() override;

  /// Sets the listening socket's backlog to SOMAXCONN (httplib's is 5: a
  /// burst of clients past it waited a second or more for a SYN retry).
  /// Call once bound.
  void widen_backlog();

  /// Closes the connections waiting in the lobby; call before stop(): the
  /// lobby hands connections to the request threads, which stop() ends.
  void stop_lobby();

private:
  using clock_type = std::chrono::steady_clock;

  bool process_and_close_socket(socket_t sock) override;
  // Answers c's requests while heads come; returns once c is closed or in
  // the lobby.
  void serve(parked_connection c);
  // Reads what has come of c's next head, waiting up to hot_wait for more:
  // true when it is ready; otherwise c is in the lobby or closed.
  bool gather(parked_connection& c);

  std::atomic<httplib::TaskQueue*> queue_{nullptr};
  std::unique_ptr<connection_lobby> lobby_;
};

} // namespace mesh
