#define CAF_SUITE http.connection_lobby
#include "check.hpp"

// The HTTP API's lobby (http/connection_lobby.hpp): connections wait there
// between requests and come back with a whole head, or are closed when
// idle too long; a late head comes back for its 408. Real sockets (a
// socketpair per connection) and the lobby's own thread.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/connection_lobby.hpp"

using namespace std::chrono_literals;
using mesh::connection_lobby;
using mesh::parked_connection;

namespace {

struct fixture {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<parked_connection> ready;

  connection_lobby::handoff handoff() {
    return [this](parked_connection c) {
      std::lock_guard<std::mutex> guard{mtx};
      ready.push_back(std::move(c));
      cv.notify_all();
    };
  }

  // Waits until `n` connections came back (or 10 s passed).
  bool await_ready(size_t n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, 10s, [&] { return ready.size() >= n; });
  }

  // A connection: the lobby's end parked, the client's end returned.
  static int park(connection_lobby& lobby, size_t requests_left = 5) {
    int fds[2];
    CAF_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    lobby.park({fds[0], {}, requests_left, {}});
    return fds[1];
  }

  // True once the other end closed `fd` (within 10 s).
  static bool closed(int fd) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[64];
    return ::recv(fd, buf, sizeof buf, 0) == 0;
  }

  static void say(int fd, const std::string& text) {
    CAF_REQUIRE_EQUAL(::send(fd, text.data(), text.size(), MSG_NOSIGNAL),
                      static_cast<ssize_t>(text.size()));
  }
};

connection_lobby::limits fast_limits() {
  connection_lobby::limits lim;
  lim.idle = 200ms;
  lim.head_deadline = 400ms;
  lim.max_head_bytes = 1024;
  return lim;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(connection_lobby_tests, fixture)

CAF_TEST(a head that came in pieces comes back whole) {
  connection_lobby lobby{handoff(), fast_limits()};
  int client = park(lobby, 3);
  say(client, "GET /healthz HTTP/1.1\r\n");
  say(client, "Host: n1\r\n\r\nGET /next");
  CAF_REQUIRE(await_ready(1));
  CAF_CHECK_EQUAL(ready[0].bytes,
                  "GET /healthz HTTP/1.1\r\nHost: n1\r\n\r\nGET /next");
  CAF_CHECK_EQUAL(ready[0].requests_left, 3u);
  CAF_CHECK_EQUAL(lobby.parked(), 0u);
  ::close(ready[0].fd);
  ::close(client);
}

CAF_TEST(an idle connection is closed and never comes back) {
  connection_lobby lobby{handoff(), fast_limits()};
  int client = park(lobby);
  auto start = std::chrono::steady_clock::now();
  CAF_CHECK(closed(client));
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - start, 150ms);
  CAF_CHECK_EQUAL(lobby.parked(), 0u);
  std::lock_guard<std::mutex> guard{mtx};
  CAF_CHECK(ready.empty());
  ::close(client);
}

CAF_TEST(a head past its deadline comes back unfinished) {
  connection_lobby lobby{handoff(), fast_limits()};
  int client = park(lobby);
  say(client, "GET /slow HTTP/1.1\r\n");
  CAF_REQUIRE(await_ready(1));
  CAF_CHECK_EQUAL(ready[0].bytes, "GET /slow HTTP/1.1\r\n");
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now()
                               - ready[0].head_at,
                             400ms);
  ::close(ready[0].fd);
  ::close(client);
}

CAF_TEST(a head over the limit comes back at once for its 431) {
  connection_lobby lobby{handoff(), fast_limits()};
  int client = park(lobby);
  say(client, "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a'));
  CAF_REQUIRE(await_ready(1));
  CAF_CHECK_GREATER(ready[0].bytes.size(), 1024u);
  ::close(ready[0].fd);
  ::close(client);
}

CAF_TEST(a client that hangs up is forgotten) {
  connection_lobby lobby{handoff(), fast_limits()};
  int client = park(lobby);
  ::close(client);
  auto until = std::chrono::steady_clock::now() + 10s;
  while (lobby.parked() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  CAF_CHECK_EQUAL(lobby.parked(), 0u);
}

CAF_TEST(a full lobby closes its longest waiting connection) {
  auto lim = fast_limits();
  lim.idle = 60s;
  lim.max_parked = 2;
  connection_lobby lobby{handoff(), lim};
  int first = park(lobby);
  int second = park(lobby);
  int third = park(lobby);
  CAF_CHECK(closed(first));
  CAF_CHECK_EQUAL(lobby.parked(), 2u);
  say(third, "GET / HTTP/1.1\r\n\r\n");
  CAF_REQUIRE(await_ready(1));
  ::close(ready[0].fd);
  for (int fd : {first, second, third})
    ::close(fd);
}

CAF_TEST(stop closes what waits and what comes later) {
  auto lim = fast_limits();
  lim.idle = 60s;
  connection_lobby lobby{handoff(), lim};
  int waiting = park(lobby);
  lobby.stop();
  CAF_CHECK(closed(waiting));
  int late = park(lobby);
  CAF_CHECK(closed(late));
  CAF_CHECK_EQUAL(lobby.parked(), 0u);
  for (int fd : {waiting, late})
    ::close(fd);
}

// The sleeps are windows in which nothing may happen, not waits.
CAF_TEST(an empty lobby sleeps until a connection comes and after it left) {
  connection_lobby lobby{handoff(), fast_limits()};
  auto before = lobby.rounds();
  std::this_thread::sleep_for(350ms); // the old thread looked every 100 ms
  CAF_CHECK_EQUAL(lobby.rounds(), before);
  int client = park(lobby);
  CAF_CHECK(closed(client)); // woken by the park, it kept the idle deadline
  CAF_CHECK_GREATER(lobby.rounds(), before);
  auto after = lobby.rounds();
  std::this_thread::sleep_for(350ms);
  CAF_CHECK_EQUAL(lobby.rounds(), after);
  ::close(client);
}

CAF_TEST(a head is ready at its blank line or past the limit) {
  CAF_CHECK(!mesh::head_ready("GET / HTTP/1.1\r\n", 100));
  CAF_CHECK(!mesh::head_ready("GET / HTTP/1.1\r\nHost: a\r\n", 100));
  CAF_CHECK(mesh::head_ready("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 100));
  CAF_CHECK(mesh::head_ready(std::string(101, 'x'), 100));
  CAF_CHECK(!mesh::head_ready(std::string(100, 'x'), 100));
}

CAF_TEST_FIXTURE_SCOPE_END()
