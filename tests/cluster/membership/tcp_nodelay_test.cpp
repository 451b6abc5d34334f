#define CAF_SUITE cluster.tcp_nodelay
#include "check.hpp"

// Every peer connection runs without Nagle (issue 16): a lone request must
// not wait for the ACK of the previous segment. That includes the data
// plane's links (accepted on a node's data port, dialled to the other's). Checked on the node's real
// sockets: pidfd_getfd(2) (Linux >= 5.6) copies each TCP socket of the node
// into the test, which asks it getsockopt(TCP_NODELAY).

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <set>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process.hpp"

using namespace mesh::test;

namespace {

#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)

struct socket_report {
  int connected = 0; ///< TCP sockets with a peer (not listeners)
  int without_nodelay = 0;
  std::string error;
};

// Connected TCP sockets of `pid` and how many lack TCP_NODELAY.
socket_report inspect(pid_t pid, const std::set<uint16_t>& own_ports,
                      const std::set<uint16_t>& their_ports) {
  socket_report r;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    r.error = std::string{"pidfd_open: "} + std::strerror(errno);
    return r;
  }
  auto dir_path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir_path.c_str());
  if (d == nullptr) {
    r.error = "cannot list " + dir_path;
    ::close(pidfd);
    return r;
  }
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    int target = std::atoi(e->d_name);
    int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target, 0));
    if (fd < 0) {
      if (errno == EPERM)
        r.error = "pidfd_getfd: not permitted (ptrace scope)";
      continue;
    }
    int domain = 0;
    int type = 0;
    socklen_t len = sizeof(int);
    sockaddr_storage peer{};
    socklen_t plen = sizeof(peer);
    sockaddr_storage local{};
    socklen_t llen = sizeof(local);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0
        && (domain == AF_INET || domain == AF_INET6)
        && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0
        && type == SOCK_STREAM
        && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
      auto port_of = [](const sockaddr_storage& a) -> uint16_t {
        if (a.ss_family == AF_INET)
          return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
        return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
      };
      // Peer connections only: accepted on our peer port, or dialled to
      // another node's (the console and HTTP connections are not peers).
      if (own_ports.count(port_of(local)) > 0
          || their_ports.count(port_of(peer)) > 0) {
        ++r.connected;
        int on = 0;
        socklen_t olen = sizeof(on);
        if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &olen) != 0
            || on == 0)
          ++r.without_nodelay;
      }
    }
    ::close(fd);
  }
  ::closedir(d);
  ::close(pidfd);
  return r;
}

uint16_t port_of(const std::string& address) {
  return static_cast<uint16_t>(
    std::stoi(address.substr(address.rfind(':') + 1)));
}

#endif

} // namespace

CAF_TEST(peer sockets of both nodes have TCP_NODELAY) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  node_process a{{"--id", "a"}};
  node_process b{{"--id", "b", "--seeds", a.listen()}};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  CAF_REQUIRE(await_condition([&] { return sees(b.http(), {"a"}); }));
  // Both data links are up once each node has one to the other.
  for (auto* n : {&a, &b})
    CAF_REQUIRE(await_condition([&] {
      auto doc = meshctl_json(n->http(), {"status"});
      return result_of(doc)["router"].value("data_plane_links", 0) == 2;
    }));
  for (auto [n, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    CAF_REQUIRE(!n->data_plane().empty());
    auto r = inspect(n->pid(), {port_of(n->listen()), port_of(n->data_plane())},
                     {port_of(other->listen()), port_of(other->data_plane())});
    // A test that cannot look fails: a skip must not count as a pass.
    CAF_REQUIRE_EQUAL(r.error, "");
    CAF_MESSAGE("node " << n->id() << ": " << r.connected
                        << " connected TCP socket(s)");
    CAF_CHECK(r.connected >= 3); // BASP, and a data link each way
    CAF_CHECK_EQUAL(r.without_nodelay, 0);
  }
#else
  CAF_FAIL("pidfd_getfd is not available on this system: cannot check");
#endif
}
