#pragma once

// plane_spin: the data plane's thread polls its sockets a little longer
// before it sleeps, while its peer runs on another CPU (issue 16).
//
// Waking a sleeping thread from another CPU costs 30-700 µs on a virtual
// machine (an interrupt to the other CPU, often a CPU woken from idle);
// between two nodes on CPUs of their own that wake comes twice per batch.
// Polling for a bounded while after a busy round lets the next batch find
// the thread awake. While the peer shares this thread's CPU, polling would
// only stand in the peer's way, so the thread sleeps at once; between polls
// it yields, so a thread waiting for the same CPU (the node's own worker)
// runs first. A thread that slept a millisecond or more before its last
// round sleeps again at once: light traffic costs no polling. CAF-free;
// used by the plane's thread only.

#include <chrono>
#include <cstdint>

#include <sys/epoll.h>

namespace mesh {

class plane_spin {
public:
  /// `budget`: how long one round polls at most (0: never).
  explicit plane_spin(std::chrono::microseconds budget) : budget_(budget) {
  }

  /// `fd` (a data link's socket) just delivered bytes; `same_host`: its
  /// peer is on this host (data_sockets::same_host).
  void delivered(int fd, bool same_host) noexcept {
    last_fd_ = fd;
    last_same_host_ = same_host;
  }

  /// Whether polling is worth it now: a budget, bytes delivered since the
  /// last verdict, and their sender on another host or on another CPU than
  /// this thread's (the socket's SO_INCOMING_CPU: for a loopback
  /// connection the CPU the peer sent from). The CPU comparison is made at
  /// most once per millisecond; in between the last verdict holds.
  bool worth_it() noexcept;

  /// When worth_it(): polls `epoll_fd` until it reports events or the
  /// budget is spent, yielding the CPU between polls. Returns what
  /// epoll_wait() returned last (0: nothing came). Otherwise returns 0 at
  /// once.
  int poll(int epoll_fd, epoll_event* events, int max_events) noexcept;

  /// What epoll_wait(epoll_fd, events, max_events, timeout_ms) returns,
  /// after a poll() first when the last round had events and the sleep
  /// before it was shorter than a millisecond.
  int wait(int epoll_fd, epoll_event* events, int max_events,
           int timeout_ms) noexcept;

private:
  using clock = std::chrono::steady_clock;

  std::chrono::microseconds budget_;
  bool busy_ = false;       ///< the last round had events
  bool woken_soon_ = false; ///< the last sleep was shorter than 1 ms
  int last_fd_ = -1;
  bool last_same_host_ = true;
  bool verdict_ = false;
  clock::time_point verdict_until_{};
};

} // namespace mesh
