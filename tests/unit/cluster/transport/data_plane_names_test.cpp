#define CAF_SUITE transport.data_plane_names
#include <caf/test/unit_test.hpp>

// The data plane dialling a peer by host name: looked up on a thread of
// its own (a DNS server may take seconds, and the caller is the connection
// manager), then dialled; a name that does not resolve is a warning.

#include <cstring>
#include <future>
#include <memory>
#include <string>

#include <netdb.h>

#include "cluster/transport/data_plane.hpp"
#include "plane_inbox.hpp"

using namespace mesh;
using mesh::test::inbox;

namespace {

data_plane_config on(const std::string& host) {
  data_plane_config cfg;
  cfg.host = host;
  return cfg;
}

} // namespace

CAF_TEST(a peer named by host name is looked up and then dialled) {
  inbox ready, replies, warnings;
  // Both sides take the name's first address, as two nodes do.
  data_plane a{on("127.0.0.1")};
  data_plane b{on("localhost")};
  data_plane_handlers ha;
  ha.on_ready = [&](const std::string& peer) { ready.push(peer, ""); };
  ha.on_reply = [&](const std::string& peer, std::string_view body) {
    replies.push(peer, std::string{body});
    return true;
  };
  ha.on_warning = [&](const std::string& what) { warnings.push(what, ""); };
  CAF_REQUIRE_EQUAL(a.start(ha), "");
  CAF_REQUIRE_EQUAL(b.start({}), "");
  auto token = b.issue_token(1, [](const data_link_ptr& link,
                                   std::string_view body) {
    std::string answer = "re:" + std::string{body};
    return link->send(frame_kind::reply, answer.size(), [&](uint8_t* p) {
      std::memcpy(p, answer.data(), answer.size());
    });
  });
  a.dial("b", "inc-1", "localhost", b.port(), token);
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(ready.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  auto link = a.link_to("b");
  CAF_REQUIRE(link != nullptr);
  std::string ping = "ping";
  CAF_CHECK(link->send(frame_kind::request, ping.size(), [&](uint8_t* p) {
    std::memcpy(p, ping.data(), ping.size());
  }));
  CAF_REQUIRE(replies.pop(ev));
  CAF_CHECK_EQUAL(ev.second, "re:ping");
  // A name nobody knows (.invalid never resolves, RFC 6761): a warning,
  // and the link to b stays.
  a.dial("c", "inc-1", "no-such-node.invalid", b.port(), "token");
  CAF_REQUIRE(warnings.pop(ev));
  CAF_CHECK(ev.first.find("no data link to c: cannot resolve no-such-node.invalid")
            == 0);
  CAF_CHECK(a.link_to("c") == nullptr);
  CAF_CHECK(!a.has_link_to("c")); // failed: the caller may ask again
  CAF_CHECK(a.link_to("b") != nullptr);
}

CAF_TEST(the caller of dial does not wait for a slow lookup) {
  inbox ready;
  std::promise<void> answer;
  auto dns = answer.get_future().share();
  auto cfg = on("127.0.0.1");
  // A DNS server that answers only when the test says so.
  cfg.lookup = [dns](const std::string&, uint16_t port, std::string& why) {
    dns.wait();
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* out = nullptr;
    if (::getaddrinfo("127.0.0.1", std::to_string(port).c_str(), &hints, &out)
        != 0)
      why = "lookup failed";
    return out;
  };
  data_plane a{cfg};
  data_plane b{on("127.0.0.1")};
  data_plane_handlers ha;
  ha.on_ready = [&](const std::string& peer) { ready.push(peer, ""); };
  CAF_REQUIRE_EQUAL(a.start(ha), "");
  CAF_REQUIRE_EQUAL(b.start({}), "");
  auto token = b.issue_token(1, [](const data_link_ptr&, std::string_view) {
    return true;
  });
  // Returns while the lookup still waits (it would hang here otherwise).
  a.dial("b", "inc-1", "slow-dns.example", b.port(), token);
  CAF_CHECK(a.link_to("b") == nullptr);
  CAF_CHECK(a.has_link_to("b")); // connecting: not to be asked for again
  CAF_CHECK_EQUAL(ready.size(), 0u);
  answer.set_value();
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(ready.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "b");
  CAF_CHECK(a.link_to("b") != nullptr);
}

CAF_TEST(a plane gone before its lookup ends is not touched) {
  std::promise<void> answer;
  std::promise<void> answered;
  auto dns = answer.get_future().share();
  auto cfg = on("127.0.0.1");
  cfg.lookup = [dns, &answered](const std::string&, uint16_t, std::string& why) {
    dns.wait();
    why = "no such name";
    answered.set_value();
    return static_cast<addrinfo*>(nullptr);
  };
  auto a = std::make_unique<data_plane>(cfg);
  CAF_REQUIRE_EQUAL(a->start({}), "");
  a->dial("c", "inc-1", "gone.example", 9, "token");
  a.reset(); // while the lookup waits
  answer.set_value();
  // The lookup ends after the plane: it must find none (ASan would report
  // a use after free of the plane otherwise).
  answered.get_future().wait();
  data_plane b{on("127.0.0.1")};
  CAF_CHECK_EQUAL(b.start({}), "");
}
