#define CAF_SUITE transport.data_plane_backlog
#include <caf/test/unit_test.hpp>

// The data port's accept queue: while the plane's thread is busy, every
// peer of a large cluster that dials at once must still get connected by
// the kernel (a full queue drops the SYN, and the peer waits a second or
// more to try again).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/transport/data_plane.hpp"
#include "plane_inbox.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

/// Starts a non-blocking connect to 127.0.0.1:`port`; -1 on failure.
int start_connect(uint16_t port) {
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

/// How many of `fds` finish connecting before `within` has passed.
size_t connected(const std::vector<int>& fds, std::chrono::milliseconds within) {
  std::vector<pollfd> waiting;
  for (int fd : fds)
    waiting.push_back({fd, POLLOUT, 0});
  size_t done = 0;
  auto until = std::chrono::steady_clock::now() + within;
  while (!waiting.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0
        || ::poll(waiting.data(), waiting.size(),
                  static_cast<int>(left.count())) <= 0)
      break;
    std::vector<pollfd> still;
    for (auto& p : waiting) {
      if (p.revents == 0) {
        still.push_back({p.fd, POLLOUT, 0});
        continue;
      }
      int err = 1;
      socklen_t len = sizeof err;
      ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0)
        ++done;
    }
    waiting.swap(still);
  }
  return done;
}

} // namespace

CAF_TEST(connections wait in the kernel while the plane thread is busy) {
  // The plane's thread blocks in a request until the test lets it go: it
  // accepts nothing meanwhile. (Declared first: the plane outlives none.)
  mesh::test::inbox requests;
  std::mutex gate;
  std::unique_lock<std::mutex> held{gate};
  data_plane_config cfg;
  data_plane plane{cfg};
  CAF_REQUIRE_EQUAL(plane.start({}), "");
  auto token = plane.issue_token(7, [&](const data_link_ptr&,
                                        std::string_view) {
    requests.push("in", "");
    std::lock_guard<std::mutex> wait{gate};
    return true;
  });
  mesh::test::inbox ready;
  data_plane dialler{cfg};
  data_plane_handlers hd;
  hd.on_ready = [&ready](const std::string& peer) { ready.push(peer, ""); };
  CAF_REQUIRE_EQUAL(dialler.start(hd), "");
  dialler.dial("b", "inc-1", "127.0.0.1", plane.port(), token);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(ready.pop(ev));
  auto link = dialler.link_to("b");
  CAF_REQUIRE(link != nullptr);
  CAF_REQUIRE(link->send(frame_kind::request, 1, [](uint8_t* p) { *p = 1; }));
  CAF_REQUIRE(requests.pop(ev)); // the thread is in the handler now
  // 300 peers dial at once (a queue of 128 took 129 and dropped the rest).
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    int fd = start_connect(plane.port());
    CAF_REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  CAF_CHECK_EQUAL(connected(fds, 2000ms), fds.size());
  held.unlock();
  for (int fd : fds)
    ::close(fd);
}
