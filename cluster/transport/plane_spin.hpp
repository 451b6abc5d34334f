#pragma once

// plane_spin: the data plane's thread polls its sockets a little longer
// before it sleeps, while its peer runs on another CPU (issue 16).
//
// Waking a sleeping thread from another CPU costs 30-700 µs on a virtual
// machine (an interrupt to the other CPU, often a CPU woken from idle);
// between two nodes on CPUs of their own that wake comes twice per batch.
// Polling for a bounded while after a busy round lets the next batch find
// the thread awake. Where the last bytes came from (the socket's
// SO_INCOMING_CPU: for a loopback connection the CPU the peer sent from,
// for another host the CPU its packets were received on) is this thread's
// CPU, polling would only stand in the sender's way, so the thread sleeps
// at once; between polls it yields, so a thread waiting for the same CPU
// (the node's own worker) runs first. A thread that slept a millisecond or
// more before its last round sleeps again at once: light traffic costs no
// polling. CAF-free; used by the plane's thread only.

#include <chrono>

#include <sys/epoll.h>

namespace mesh {

class plane_spin {
public:
  using clock = std::chrono::steady_clock;

  /// A sleep at least this long makes the next round's traffic light.
  static constexpr std::chrono::milliseconds idle_gap{1};

  /// `budget`: how long one round polls at most (0: never).
  explicit plane_spin(std::chrono::microseconds budget) : budget_(budget) {
  }

  /// `fd` (a data link's socket) just delivered bytes.
  void delivered(int fd) noexcept {
    last_fd_ = fd;
  }

  /// `fd` is about to be closed: its number may soon name another file.
  void forget(int fd) noexcept {
    if (fd == last_fd_)
      last_fd_ = -1;
  }

  /// Whether polling is worth it now: a budget, and the last bytes
  /// delivered came from another CPU than this thread's (compared at most
  /// once per idle_gap; in between the last verdict holds).
  bool worth_it() noexcept;

  /// Polls `epoll_fd` until it reports events or the budget is spent,
  /// yielding the CPU between polls. Returns what epoll_wait() returned
  /// last (0: nothing came).
  int poll(int epoll_fd, epoll_event* events, int max_events) noexcept;

  /// What epoll_wait(epoll_fd, events, max_events, timeout_ms) returns,
  /// after a poll() first when the last round had events, the sleep before
  /// it was shorter than idle_gap, and worth_it().
  int wait(int epoll_fd, epoll_event* events, int max_events,
           int timeout_ms) noexcept;

private:
  std::chrono::microseconds budget_;
  int last_fd_ = -1;
  bool busy_ = false;       ///< the last round had events
  bool woken_soon_ = false; ///< the last sleep was shorter than idle_gap
  bool verdict_ = false;
  clock::time_point verdict_until_{};
};

} // namespace mesh
