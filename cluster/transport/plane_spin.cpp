// plane_spin (plane_spin.hpp).
#include "cluster/transport/plane_spin.hpp"

#include <sched.h>
#include <sys/socket.h>

namespace mesh {

bool plane_spin::worth_it() noexcept {
  if (budget_.count() <= 0 || last_fd_ < 0)
    return false;
  auto now = clock::now();
  if (now < verdict_until_)
    return verdict_;
  int incoming = -1;
  socklen_t len = sizeof incoming;
  // A guess about speed, never about correctness: a socket that fails the
  // question counts as here.
  if (::getsockopt(last_fd_, SOL_SOCKET, SO_INCOMING_CPU, &incoming, &len)
      != 0)
    incoming = -1;
  int here = ::sched_getcpu();
  verdict_ = incoming >= 0 && here >= 0 && incoming != here;
  verdict_until_ = now + idle_gap;
  return verdict_;
}

int plane_spin::poll(int epoll_fd, epoll_event* events,
                     int max_events) noexcept {
  auto until = clock::now() + budget_;
  for (;;) {
    int n = ::epoll_wait(epoll_fd, events, max_events, 0);
    if (n != 0 || clock::now() >= until)
      return n;
    ::sched_yield();
  }
}

int plane_spin::wait(int epoll_fd, epoll_event* events, int max_events,
                     int timeout_ms) noexcept {
  int n = 0;
  if (busy_ && woken_soon_ && worth_it())
    n = poll(epoll_fd, events, max_events);
  if (n == 0) {
    auto slept = clock::now();
    n = ::epoll_wait(epoll_fd, events, max_events, timeout_ms);
    woken_soon_ = clock::now() - slept < idle_gap;
  }
  busy_ = n > 0;
  return n;
}

} // namespace mesh
