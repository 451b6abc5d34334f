#define CAF_SUITE node.sd_notify
#include "check.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "node/os/sd_notify.hpp"
#include "temp_dir.hpp"

using namespace mesh;

namespace {

// Plays the service manager: a unix datagram socket bound to a path or an
// abstract name (the '@' form of NOTIFY_SOCKET), and NOTIFY_SOCKET naming it.
struct fixture {
  test::temp_dir dir;
  int fd = -1;

  fixture() {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CAF_REQUIRE(fd >= 0);
    // A lost datagram fails the test after a second instead of hanging it;
    // a delivered one is already queued when sendto returns.
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  ~fixture() {
    ::close(fd);
    ::unsetenv("NOTIFY_SOCKET");
  }

  void bind_to(const std::string& name) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@')
      addr.sun_path[0] = '\0';
    auto len
        = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    CAF_REQUIRE_EQUAL(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len),
                      0);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }

  std::string receive() {
    char buf[256];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    return n < 0 ? std::string{"<nothing received>"}
                 : std::string(buf, static_cast<size_t>(n));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(sd_notify_tests, fixture)

CAF_TEST(without NOTIFY_SOCKET nothing is sent and nothing fails) {
  ::unsetenv("NOTIFY_SOCKET");
  CAF_CHECK_EQUAL(notify_service_manager("READY=1"), "");
  ::setenv("NOTIFY_SOCKET", "", 1);
  CAF_CHECK_EQUAL(notify_service_manager("READY=1"), "");
}

CAF_TEST(the state reaches a socket named by its path) {
  bind_to(dir.file("notify"));
  CAF_CHECK_EQUAL(notify_service_manager("READY=1"), "");
  CAF_CHECK_EQUAL(receive(), "READY=1");
  CAF_CHECK_EQUAL(notify_service_manager("STOPPING=1"), "");
  CAF_CHECK_EQUAL(receive(), "STOPPING=1");
}

CAF_TEST(an at sign names a socket in the abstract namespace) {
  bind_to("@mesh-sd-notify-test-" + std::to_string(::getpid()));
  CAF_CHECK_EQUAL(notify_service_manager("READY=1"), "");
  CAF_CHECK_EQUAL(receive(), "READY=1");
}

CAF_TEST(a socket nobody listens on is reported not thrown) {
  ::setenv("NOTIFY_SOCKET", dir.file("nobody").c_str(), 1);
  auto why = notify_service_manager("READY=1");
  MESH_CHECK_MSG(why.find("cannot notify the service manager") == 0, why);
  MESH_CHECK_MSG(why.find(dir.file("nobody")) != std::string::npos, why);
}

CAF_TEST(a name that is neither a path nor abstract is refused) {
  ::setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  auto why = notify_service_manager("READY=1");
  MESH_CHECK_MSG(why.find("neither a socket path") != std::string::npos, why);
}

CAF_TEST_FIXTURE_SCOPE_END()
