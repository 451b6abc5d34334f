#define CAF_SUITE transport.data_tls
#include <caf/test/unit_test.hpp>

// The data plane's links over TLS (tls/data_tls.hpp), for real on 127.0.0.1:
// two planes in this process with certificates made at test time by
// examples/tls/make-certs.sh, and raw sockets playing strangers.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "cluster/transport/data_plane.hpp"
#include "plane_inbox.hpp"
#include "plane_stall.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using mesh::test::closed_by_peer;
using mesh::test::inbox;
using namespace std::chrono_literals;

namespace {

struct certificates {
  test::temp_dir ours;
  test::temp_dir foreign;

  certificates() {
    auto script = std::string{MESH_SOURCE_DIR} + "/examples/tls/make-certs.sh";
    auto make = [&](const test::temp_dir& dir, const char* nodes) {
      auto cmd = "/bin/bash '" + script + "' '" + dir.path() + "' " + nodes
                 + " > /dev/null 2>&1";
      CAF_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    };
    make(ours, "a b");
    make(foreign, "rogue");
  }

  std::shared_ptr<data_tls> context(const test::temp_dir& dir,
                                    const std::string& node) const {
    std::string why;
    auto tls = data_tls::make(dir.file(node + ".pem"), dir.file(node + ".key"),
                              ours.file("ca.pem"), "", why);
    CAF_REQUIRE(tls != nullptr);
    return tls;
  }
};

struct fixture : certificates {
  inbox replies, ready, requests, warnings;
  data_plane a{config(context(ours, "a"))};
  data_plane b{config(context(ours, "b"))};

  static data_plane_config config(std::shared_ptr<data_tls> tls) {
    data_plane_config cfg;
    cfg.max_frame_bytes = 16 * 1024 * 1024;
    cfg.hello_timeout = 1000ms;
    cfg.tls = std::move(tls);
    return cfg;
  }

  fixture() {
    data_plane_handlers ha;
    ha.on_reply = [this](const std::string&, std::string_view body) {
      replies.push(std::string{body}, "");
      return true;
    };
    ha.on_ready = [this](const std::string& peer) { ready.push(peer, ""); };
    ha.on_warning = [this](const std::string& what) {
      warnings.push(what, "");
    };
    CAF_REQUIRE_EQUAL(a.start(ha), "");
    data_plane_handlers hb;
    hb.on_warning = [this](const std::string& what) {
      warnings.push(what, "");
    };
    CAF_REQUIRE_EQUAL(b.start(hb), "");
  }

  // A token of b's whose requests are echoed back with "re:" in front.
  std::string echo_token() {
    return b.issue_token(7, [this](const data_link_ptr& link,
                                   std::string_view body) {
      requests.push(std::string{body}, "");
      std::string answer = "re:" + std::string{body};
      link->send(frame_kind::reply, answer.size(), [&](uint8_t* p) {
        std::memcpy(p, answer.data(), answer.size());
      });
      return true;
    });
  }

  data_link_ptr dial_b() {
    a.dial("b", "inc-1", "127.0.0.1", b.port(), echo_token());
    std::pair<std::string, std::string> ev;
    CAF_REQUIRE(ready.pop(ev));
    auto link = a.link_to("b");
    CAF_REQUIRE(link != nullptr);
    return link;
  }

  // Whether a warning containing `text` comes (within 10 s each).
  bool warned(const std::string& text) {
    std::pair<std::string, std::string> ev;
    while (warnings.pop(ev))
      if (ev.first.find(text) != std::string::npos)
        return true;
    return false;
  }
};

bool send_text(const data_link_ptr& link, const std::string& text) {
  return link->send(frame_kind::request, text.size(), [&](uint8_t* p) {
    std::memcpy(p, text.data(), text.size());
  });
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(data_tls_tests, fixture)

CAF_TEST(a TLS link carries requests out and replies back) {
  auto link = dial_b();
  CAF_CHECK(send_text(link, "ping"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "re:ping");
  CAF_CHECK_EQUAL(b.link_count(), 1u);
}

CAF_TEST(frames sent faster than the peer reads arrive whole and in order) {
  // 48 MiB from two threads at once: the socket fills, TLS writes wait and
  // go on from the link's buffer, and no frame is cut or interleaved.
  auto link = dial_b();
  constexpr int per_thread = 200;
  auto send_all = [&](char tag) {
    for (int i = 0; i < per_thread; ++i) {
      std::string body(120 * 1024, tag);
      body.replace(0, 7, std::to_string(100000 + i) + tag);
      CAF_CHECK(send_text(link, body));
    }
  };
  std::thread x{send_all, 'x'};
  std::thread y{send_all, 'y'};
  x.join();
  y.join();
  int next[2] = {0, 0};
  std::pair<std::string, std::string> ev;
  for (int i = 0; i < 2 * per_thread; ++i) {
    CAF_REQUIRE(requests.pop(ev));
    const auto& body = ev.first;
    CAF_REQUIRE_EQUAL(body.size(), 120u * 1024);
    char tag = body[6];
    CAF_REQUIRE(tag == 'x' || tag == 'y');
    // Whole (one tag throughout) and in each sender's order.
    CAF_CHECK_EQUAL(body.find_first_not_of(tag, 7), std::string::npos);
    CAF_CHECK_EQUAL(body.substr(0, 6),
                    std::to_string(100000 + next[tag == 'y']));
    ++next[tag == 'y'];
  }
  for (int i = 0; i < 2 * per_thread; ++i)
    CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.first.size(), 120u * 1024 + 3);
}

CAF_TEST(a peer that stops reading gets its TLS link cut) {
  // b's thread blocks in the first request: nothing reads the socket, the
  // sender's TLS writes wait, and its buffer passes the bound.
  std::mutex gate;
  std::unique_lock<std::mutex> held{gate};
  auto token = test::stalling_token(b, gate);
  auto cfg = config(context(ours, "a"));
  cfg.max_pending_bytes = 1024 * 1024;
  data_plane c{cfg};
  inbox c_ready, c_closed;
  data_plane_handlers hc;
  hc.on_ready = [&](const std::string& peer) { c_ready.push(peer, ""); };
  hc.on_closed = [&](const std::string& peer, uint64_t) {
    c_closed.push(peer, "");
  };
  hc.on_warning = [this](const std::string& what) {
    warnings.push(what, "");
  };
  CAF_REQUIRE_EQUAL(c.start(hc), "");
  c.dial("b", "inc-1", "127.0.0.1", b.port(), token);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(c_ready.pop(ev));
  auto link = c.link_to("b");
  CAF_REQUIRE(link != nullptr);
  auto sent = test::flood_until_cut(link);
  CAF_MESSAGE(sent << " frames of 256 KiB before the cut");
  CAF_CHECK_LESS(sent, 1000); // kernel buffers plus 1 MiB, then the cut
  CAF_CHECK(!link->open());
  CAF_REQUIRE(c_closed.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK(warned("it stopped reading"));
  held.unlock();
  c.stop();
}

CAF_TEST(a plaintext hello gets the connection closed) {
  std::string hello(frame_header_size, '\0');
  put_frame_header(reinterpret_cast<uint8_t*>(hello.data()), frame_kind::hello,
                   32);
  hello += echo_token().substr(0, 32);
  int fd = test::dial_raw(b.port());
  CAF_REQUIRE(fd >= 0);
  ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  CAF_CHECK(warned("failed its TLS handshake"));
  CAF_CHECK_EQUAL(b.link_count(), 0u);
}

CAF_TEST(a plane whose certificate another CA signed cannot link) {
  data_plane rogue{config(context(foreign, "rogue"))};
  // The rogue's end fails in its handshake, or (TLS 1.3: the client is done
  // before the server has checked its certificate) right after it.
  inbox ended;
  data_plane_handlers h;
  h.on_warning = [&](const std::string& what) { ended.push(what, ""); };
  h.on_closed = [&](const std::string& peer, uint64_t) {
    ended.push("closed " + peer, "");
  };
  CAF_REQUIRE_EQUAL(rogue.start(h), "");
  rogue.dial("b", "inc-1", "127.0.0.1", b.port(), echo_token());
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(ended.pop(ev));
  CAF_CHECK(ev.first == "closed b"
            || ev.first.find("no TLS with b's data port") != std::string::npos);
  CAF_CHECK(warned("failed its TLS handshake"));
  CAF_CHECK(!rogue.has_link_to("b"));
  CAF_CHECK_EQUAL(b.link_count(), 0u);
  CAF_CHECK(requests.size() == 0);
  rogue.stop();
}

CAF_TEST(a member announcing a frame over the bound is closed) {
  // A client with a certificate of the cluster (so past the handshake)
  // whose first frame announces 4 GiB: no hello's room, closed at once.
  auto tls = context(ours, "a");
  int fd = test::dial_raw(b.port());
  CAF_REQUIRE(fd >= 0);
  std::string why, note;
  auto* s = tls->session(fd, false, note);
  CAF_REQUIRE(s != nullptr);
  for (int i = 0; i < 100; ++i) {
    auto step = tls_handshake(s, why);
    if (step == tls_step::done || step == tls_step::failed)
      break;
    pollfd p{fd, static_cast<short>(step == tls_step::wants_write ? POLLOUT
                                                                  : POLLIN),
             0};
    ::poll(&p, 1, 1000);
  }
  std::string huge("\xff\xff\xff\xff\x01", 5);
  CAF_CHECK_EQUAL(tls_write(s, huge.data(), huge.size()), 5);
  CAF_CHECK(warned("over the bound of 256"));
  CAF_CHECK(closed_by_peer(fd));
  free_tls_session(s);
  ::close(fd);
  CAF_CHECK_EQUAL(b.link_count(), 0u);
}

CAF_TEST(a handshake that stops halfway is closed after the hello timeout) {
  // A TLS record's head, and nothing more.
  int fd = test::dial_raw(b.port());
  CAF_REQUIRE(fd >= 0);
  std::string head("\x16\x03\x01\x02\x00", 5);
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  CAF_CHECK(warned("said no hello"));
}

CAF_TEST_FIXTURE_SCOPE_END()
