#define CAF_SUITE transport.data_sockets
#include "check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/transport/data_sockets.hpp"
#include "tcp_pair.hpp"

// Which data links come from this host (data_sockets::same_host): a batch's
// CPU number means something only then (actors/cluster/ingress/cpu_share.hpp).

using namespace mesh;
using namespace mesh::data_sockets;

using mesh::test::tcp_pair;

CAF_TEST(a connection over 127.0.0.1 comes from this host) {
  tcp_pair p{"127.0.0.1"};
  CAF_CHECK(same_host(p.accepted));
  CAF_CHECK(same_host(p.dialled));
}

CAF_TEST(a connection from another address does not) {
  // 127.0.0.2 is this host too, but only the two ends' addresses are
  // compared: a caller that is not known to be here counts as elsewhere.
  tcp_pair p{"127.0.0.2"};
  CAF_CHECK(!same_host(p.accepted));
}

CAF_TEST(a unix socket is on this host and an unconnected one is nowhere) {
  int fds[2];
  CAF_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  CAF_CHECK(same_host(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
  int lone = ::socket(AF_INET, SOCK_STREAM, 0);
  CAF_CHECK(!same_host(lone));
  ::close(lone);
  CAF_CHECK(!same_host(-1));
}

CAF_TEST(addresses as bytes) {
  sockaddr_storage v4{};
  v4.ss_family = AF_INET;
  CAF_CHECK_EQUAL(address_bytes(v4).size(), 4u);
  sockaddr_storage v6{};
  v6.ss_family = AF_INET6;
  CAF_CHECK_EQUAL(address_bytes(v6).size(), 16u);
  sockaddr_storage local{};
  local.ss_family = AF_UNIX;
  CAF_CHECK(address_bytes(local).empty());
}
