#include "node/os/sd_notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mesh {

std::string notify_service_manager(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0')
    return {};
  std::string name = env;
  if (name[0] != '/' && name[0] != '@')
    return "NOTIFY_SOCKET '" + name
           + "' is neither a socket path nor an abstract name ('@...')";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() >= sizeof(addr.sun_path))
    return "NOTIFY_SOCKET '" + name + "' is longer than a socket address";
  std::memcpy(addr.sun_path, name.data(), name.size());
  // An abstract name has no terminating NUL: its length is the address
  // length, and its first byte is NUL instead of '@'.
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  auto len
      = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string{"cannot open a socket to notify the service manager: "}
           + std::strerror(errno);
  auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  int err = errno;
  ::close(fd);
  if (sent < 0)
    return "cannot notify the service manager at '" + name
           + "': " + std::strerror(err);
  return {};
}

} // namespace mesh
