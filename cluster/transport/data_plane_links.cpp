// A link's way to ready on the data plane's thread: the dial's connect
// and, with cluster TLS, the handshake (data_plane.hpp).
#include "cluster/transport/data_plane.hpp"

#include <sys/socket.h>

#include "cluster/transport/data_sockets.hpp"

namespace mesh {

using namespace data_sockets;

void data_plane::connected(const data_link_ptr& link) {
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(link->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    close_link(link, "cannot connect to " + link->peer() + "'s data port: "
                       + errno_text(err));
    return;
  }
  if (cfg_.tls) {
    std::string note;
    {
      std::lock_guard<std::mutex> guard{link->mtx_};
      link->ssl_ = cfg_.tls->session(link->fd_, false, note);
    }
    if (!note.empty())
      warn(note);
    if (link->ssl_ == nullptr) {
      close_link(link, "cannot start TLS with " + link->peer());
      return;
    }
    handshake(link); // the link is ready once it is over
    return;          // (now, or as events come)
  }
  link_ready(link);
}

void data_plane::link_ready(const data_link_ptr& link) {
  {
    std::lock_guard<std::mutex> guard{link->mtx_};
    link->ready_ = true;
  }
  link->drain(); // the hello, then whatever is queued
  if (handlers_.on_ready && link->alive())
    handlers_.on_ready(link->peer());
}

bool data_plane::handshake(const data_link_ptr& link) {
  std::string why;
  tls_step step;
  {
    std::lock_guard<std::mutex> guard{link->mtx_};
    step = tls_handshake(link->ssl_, why);
    if (step == tls_step::wants_read || step == tls_step::wants_write)
      link->watch_locked(step == tls_step::wants_write);
  }
  if (step == tls_step::failed) {
    close_link(link, link->direction() == data_link::role::outbound
                       ? "no TLS with " + link->peer() + "'s data port: "
                           + why
                       : "a connection to the data port failed its TLS "
                         "handshake: " + why);
    return false;
  }
  if (step != tls_step::done)
    return false;
  link->tls_done_ = true;
  if (link->direction() == data_link::role::outbound)
    link_ready(link);
  else {
    std::lock_guard<std::mutex> guard{link->mtx_};
    link->watch_locked(false);
  }
  return link->alive();
}

} // namespace mesh
