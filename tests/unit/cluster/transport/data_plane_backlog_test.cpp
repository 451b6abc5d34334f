#define CAF_SUITE transport.data_plane_backlog
#include <caf/test/unit_test.hpp>

// The data port's accept queue: while the plane's thread is busy, every
// peer of a large cluster that dials at once must still get connected by
// the kernel (a full queue drops the SYN, and the peer waits a second or
// more to try again).

#include <chrono>
#include <mutex>
#include <string>
#include <utility>

#include "cluster/transport/data_plane.hpp"
#include "plane_inbox.hpp"
#include "plane_stall.hpp"
#include "raw_socket.hpp"

using namespace mesh;
using namespace std::chrono_literals;

CAF_TEST(connections wait in the kernel while the plane thread is busy) {
  // Outlive the planes: the plane's thread uses them until it stops.
  mesh::test::inbox requests;
  mesh::test::inbox ready;
  std::mutex gate;
  data_plane_config cfg;
  data_plane plane{cfg};
  CAF_REQUIRE_EQUAL(plane.start({}), "");
  // Released before the plane's destructor joins its thread.
  std::unique_lock<std::mutex> held{gate};
  // The plane's thread blocks in a request until the test lets it go: it
  // accepts nothing meanwhile.
  auto token = mesh::test::stalling_token(plane, gate, [&requests] {
    requests.push("in", "");
  });
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
  mesh::test::fd_set_guard conns;
  for (int i = 0; i < 300; ++i) {
    int fd = mesh::test::start_connect(plane.port());
    CAF_REQUIRE(fd >= 0);
    conns.fds.push_back(fd);
  }
  CAF_CHECK_EQUAL(mesh::test::connected_within(conns.fds, 2000ms),
                  conns.fds.size());
  held.unlock();
}
