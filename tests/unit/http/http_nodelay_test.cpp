#define CAF_SUITE http.nodelay
#include "check.hpp"

// The HTTP API's connections have TCP_NODELAY. httplib writes an answer's
// header and body in two sends; with Nagle the body waits for the client's
// ACK of the header, which a keep-alive client delays up to 40 ms, so every
// request on a reused connection stalled (37.8 req/s on one keep-alive
// connection, BENCHMARKS.md). Checked on the server's own accepted socket:
// the server runs in this process, so the test finds it among its fds.

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <httplib.h>

#include "http/http_server.hpp"

namespace {

// Every socket of this process whose local port is `port` and that has a
// peer (an accepted connection, not the listener): its TCP_NODELAY.
std::vector<int> nodelay_of_connections(uint16_t port) {
  std::vector<int> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return out;
  while (auto* entry = ::readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2)
      continue;
    sockaddr_in local{}, peer{};
    socklen_t len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0
        || local.sin_family != AF_INET || ntohs(local.sin_port) != port)
      continue;
    len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0)
      continue; // the listener
    int flag = -1;
    len = sizeof(flag);
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, &len) == 0)
      out.push_back(flag);
  }
  ::closedir(dir);
  return out;
}

} // namespace

CAF_TEST(accepted connections have TCP_NODELAY) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  mesh::http_server_config hc;
  hc.address = {"127.0.0.1", 0};
  hc.node_id = "nodelay";
  mesh::http_server server{sys, hc};
  auto err = server.start();
  CAF_REQUIRE(!err);
  auto port = server.address().port;
  httplib::Client client{"127.0.0.1", port};
  client.set_keep_alive(true); // the connection stays open to be found
  auto r = client.Get("/healthz");
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->status, 200);
  auto flags = nodelay_of_connections(port);
  // The client's end has the server's port as its peer, not its local one.
  CAF_REQUIRE_EQUAL(flags.size(), 1u);
  CAF_CHECK_NOT_EQUAL(flags[0], 0);
  client.stop();
  server.stop();
}
