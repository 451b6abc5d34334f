#define CAF_SUITE transport.data_plane
#include <caf/test/unit_test.hpp>

// The data plane's sockets, for real on 127.0.0.1: two planes in this
// process, and raw sockets playing strangers.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "cluster/transport/data_plane.hpp"
#include "plane_inbox.hpp"
#include "plane_stall.hpp"
#include "raw_socket.hpp"

using namespace mesh;
using mesh::test::closed_by_peer;
using mesh::test::inbox;
using namespace std::chrono_literals;

namespace {

struct fixture {
  inbox replies, closed, ready, requests, warnings;
  data_plane a{config()};
  data_plane b{config()};

  static data_plane_config config() {
    data_plane_config cfg;
    cfg.max_frame_bytes = 16 * 1024 * 1024;
    cfg.retire_after = 500ms;
    return cfg;
  }

  fixture() {
    data_plane_handlers ha;
    ha.on_reply = [this](const std::string& peer, std::string_view body) {
      replies.push(peer, std::string{body});
      return true;
    };
    ha.on_closed = [this](const std::string& peer, uint64_t link) {
      closed.push(peer, std::to_string(link));
    };
    ha.on_ready = [this](const std::string& peer) { ready.push(peer, ""); };
    CAF_REQUIRE_EQUAL(a.start(ha), "");
    data_plane_handlers hb;
    hb.on_warning = [this](const std::string& what) { warnings.push(what, ""); };
    CAF_REQUIRE_EQUAL(b.start(hb), "");
  }

  // A token of b's whose requests are echoed back with "re:" in front; a
  // request "refuse" breaks the protocol.
  std::string echo_token() {
    return b.issue_token(7, [this](const data_link_ptr& link,
                                   std::string_view body) {
      requests.push(std::string{body}, "");
      if (body == "refuse")
        return false;
      std::string answer = "re:" + std::string{body};
      link->send(frame_kind::reply, answer.size(), [&](uint8_t* p) {
        std::memcpy(p, answer.data(), answer.size());
      });
      return true;
    });
  }

  data_link_ptr dial_b(const std::string& token) {
    a.dial("b", "inc-1", "127.0.0.1", b.port(), token);
    std::pair<std::string, std::string> ev;
    CAF_REQUIRE(ready.pop(ev));
    CAF_REQUIRE_EQUAL(ev.first, "b");
    auto link = a.link_to("b");
    CAF_REQUIRE(link != nullptr);
    return link;
  }
};

bool send_text(const data_link_ptr& link, frame_kind kind,
               const std::string& text) {
  return link->send(kind, text.size(), [&](uint8_t* p) {
    std::memcpy(p, text.data(), text.size());
  });
}

// A stranger's plain blocking socket to `port`.
int connect_raw(uint16_t port) {
  int fd = mesh::test::dial_raw(port);
  CAF_REQUIRE(fd >= 0);
  return fd;
}

std::string frame(frame_kind kind, const std::string& body) {
  std::string out(frame_header_size + body.size(), '\0');
  put_frame_header(reinterpret_cast<uint8_t*>(out.data()), kind,
                        body.size());
  std::memcpy(out.data() + frame_header_size, body.data(), body.size());
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(data_plane_tests, fixture)

CAF_TEST(a dialled link carries requests out and replies back) {
  auto link = dial_b(echo_token());
  CAF_CHECK(send_text(link, frame_kind::request, "ping"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK_EQUAL(ev.second, "re:ping");
  CAF_CHECK_EQUAL(a.link_count(), 1u);
  CAF_CHECK_EQUAL(b.link_count(), 1u);
}

CAF_TEST(a frame larger than the socket takes at once arrives whole) {
  auto link = dial_b(echo_token());
  std::string big(8 * 1024 * 1024, 'x');
  CAF_CHECK(send_text(link, frame_kind::request, big));
  CAF_CHECK(send_text(link, frame_kind::request, "after"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(requests.pop(ev));
  CAF_CHECK_EQUAL(ev.first.size(), big.size());
  CAF_CHECK(ev.first == big);
  CAF_REQUIRE(requests.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "after"); // in order, never interleaved
}

CAF_TEST(a wrong token or a used one gets the connection closed) {
  auto token = echo_token();
  auto link = dial_b(token);
  CAF_CHECK(send_text(link, frame_kind::request, "ping"));
  std::pair<std::string, std::string> answer;
  CAF_REQUIRE(replies.pop(answer)); // the token is used by now
  CAF_REQUIRE(requests.pop(answer));
  int fd = connect_raw(b.port());
  auto hello = frame(frame_kind::hello, token);
  CAF_REQUIRE(::send(fd, hello.data(), hello.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  fd = connect_raw(b.port());
  hello = frame(frame_kind::hello, std::string(token.size(), '0'));
  CAF_REQUIRE(::send(fd, hello.data(), hello.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "a connection to the data port did not present "
                            "a valid token");
  CAF_CHECK_EQUAL(requests.size(), 0u);
}

CAF_TEST(one address cannot take every place before the hello) {
  std::vector<int> quiet;
  for (int i = 0; i < 16; ++i)
    quiet.push_back(connect_raw(b.port()));
  int extra = connect_raw(b.port());
  CAF_CHECK(closed_by_peer(extra)); // at once: 16 from there say nothing
  ::close(extra);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "refused a connection to the data port: 16 "
                            "connections from its address have not "
                            "presented a token yet");
  // Another address still gets in: its hello and request are taken.
  int fd = mesh::test::dial_raw_from("127.0.0.2", b.port());
  CAF_REQUIRE(fd >= 0);
  auto bytes = frame(frame_kind::hello, echo_token())
               + frame(frame_kind::request, "hi");
  CAF_REQUIRE(::send(fd, bytes.data(), bytes.size(), 0) > 0);
  CAF_REQUIRE(requests.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "hi");
  ::close(fd);
  for (auto q : quiet)
    ::close(q);
}

CAF_TEST(a connection that says nothing is closed after the hello timeout) {
  auto cfg = config();
  cfg.hello_timeout = 300ms;
  data_plane c{cfg};
  data_plane_handlers hc;
  hc.on_warning = [this](const std::string& what) { warnings.push(what, ""); };
  CAF_REQUIRE_EQUAL(c.start(hc), "");
  int fd = connect_raw(c.port());
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "a connection to the data port said no hello in "
                            "300 ms");
}

CAF_TEST(before its hello a connection gets no room for a large frame) {
  int fd = connect_raw(b.port());
  auto big = frame(frame_kind::hello, std::string(1024, 'a'));
  CAF_REQUIRE(::send(fd, big.data(), big.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "a frame of 1025 bytes, over the bound of 256");
}

CAF_TEST(the end of a token owner closes its links and voids its tokens) {
  auto link = dial_b(echo_token());
  auto unused = echo_token();
  b.close_owner(7);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK_EQUAL(ev.second, std::to_string(link->id()));
  // A token of the gone owner opens nothing any more.
  int fd = connect_raw(b.port());
  auto hello = frame(frame_kind::hello, unused);
  CAF_REQUIRE(::send(fd, hello.data(), hello.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
}

CAF_TEST(a peer that stops reading gets its link cut) {
  // b's thread blocks in the first request: nothing reads the socket.
  std::mutex gate;
  std::unique_lock<std::mutex> held{gate};
  auto token = mesh::test::stalling_token(b, gate);
  auto cfg = config();
  cfg.max_pending_bytes = 1024 * 1024;
  data_plane c{cfg};
  data_plane_handlers hc;
  hc.on_ready = [this](const std::string& peer) { ready.push(peer, ""); };
  hc.on_closed = [this](const std::string& peer, uint64_t link) {
    closed.push(peer, std::to_string(link));
  };
  hc.on_warning = [this](const std::string& what) { warnings.push(what, ""); };
  CAF_REQUIRE_EQUAL(c.start(hc), "");
  c.dial("b", "inc-1", "127.0.0.1", b.port(), token);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(ready.pop(ev));
  auto link = c.link_to("b");
  CAF_REQUIRE(link != nullptr);
  auto sent = mesh::test::flood_until_cut(link);
  CAF_MESSAGE(sent << " frames of 256 KiB before the cut");
  CAF_CHECK_LESS(sent, 1000); // kernel buffers plus 1 MiB, then the cut
  CAF_CHECK(!link->open());
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.second, std::to_string(link->id()));
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "closed the data link to b: it stopped reading, "
                            "and more than 1048576 bytes waited for it "
                            "(limits.max_peer_backlog_bytes)");
  held.unlock();
}

CAF_TEST(a frame over the bound is not sent) {
  auto link = dial_b(echo_token());
  CAF_CHECK(!send_text(link, frame_kind::request,
                       std::string(16 * 1024 * 1024 + 1, 'x')));
  CAF_CHECK(link->open()); // the caller sends it another way
}

CAF_TEST(a request before the hello or a frame over the bound is refused) {
  int fd = connect_raw(b.port());
  auto early = frame(frame_kind::request, "work");
  CAF_REQUIRE(::send(fd, early.data(), early.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  fd = connect_raw(b.port());
  auto hello = frame(frame_kind::hello, echo_token());
  CAF_REQUIRE(::send(fd, hello.data(), hello.size(), 0) > 0);
  // A header announcing 1 GiB: refused before any of it is read.
  std::string huge(frame_header_size, '\0');
  put_frame_header(reinterpret_cast<uint8_t*>(huge.data()),
                        frame_kind::request, 1u << 30);
  CAF_REQUIRE(::send(fd, huge.data(), huge.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  CAF_CHECK_EQUAL(requests.size(), 0u);
}

CAF_TEST(a reply frame from the dialler is refused) {
  int fd = connect_raw(b.port());
  auto msgs = frame(frame_kind::hello, echo_token())
              + frame(frame_kind::reply, "not yours to send");
  CAF_REQUIRE(::send(fd, msgs.data(), msgs.size(), 0) > 0);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
}

CAF_TEST(the loss of a link is reported with its id) {
  auto link = dial_b(echo_token());
  b.stop(); // the peer goes away
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK_EQUAL(ev.second, std::to_string(link->id()));
  CAF_CHECK(a.link_to("b") == nullptr);
  CAF_CHECK(!send_text(link, frame_kind::request, "late"));
}

CAF_TEST(failed outbound links are reported and none is left to b) {
  CAF_CHECK(!a.has_link_to("b"));
  auto link = dial_b(echo_token());
  CAF_CHECK(a.has_link_to("b"));
  CAF_CHECK_EQUAL(a.fail_outbound(), 1u);
  CAF_CHECK(!a.has_link_to("b")); // at once: the caller may dial again
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK_EQUAL(ev.second, std::to_string(link->id()));
  CAF_CHECK(a.link_to("b") == nullptr);
  // A new token dials a working link again.
  auto again = dial_b(echo_token());
  CAF_CHECK(again != link);
  CAF_CHECK(send_text(again, frame_kind::request, "back"));
  CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.second, "re:back");
}

CAF_TEST(a request that breaks the protocol closes the link) {
  auto link = dial_b(echo_token());
  CAF_CHECK(send_text(link, frame_kind::request, "refuse"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.second, std::to_string(link->id()));
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "a peer sent a request frame that does not parse");
}

CAF_TEST(a new handshake retires the old link and a new process fails it) {
  auto first = dial_b(echo_token());
  // The same process again: the new link takes new requests, the old one
  // stays open for answers still due, then closes (retire_after).
  auto second = dial_b(echo_token());
  CAF_CHECK(second != first);
  CAF_CHECK(first->open());
  CAF_CHECK(send_text(first, frame_kind::request, "late"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.second, "re:late");
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.second, std::to_string(first->id()));
  // A new process of the peer: the link to the old one fails at once.
  a.dial("b", "inc-2", "127.0.0.1", b.port(), echo_token());
  CAF_REQUIRE(ready.pop(ev));
  auto third = a.link_to("b");
  CAF_REQUIRE(third != nullptr);
  CAF_CHECK_EQUAL(third->incarnation(), "inc-2");
  CAF_REQUIRE(closed.pop(ev));
  CAF_CHECK_EQUAL(ev.second, std::to_string(second->id()));
}

CAF_TEST_FIXTURE_SCOPE_END()
