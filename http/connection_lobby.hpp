#pragma once

// connection_lobby: where the HTTP API's connections wait between requests
// without holding a request thread.
//
// httplib gives each connection one of the API's 16 threads for as long as
// it is open: a thread waited up to 2 s for an idle connection's next
// request and up to 10 s for a head sent a byte at a time. Anyone who could
// reach the port, token or not, could keep every thread waiting: 500 idle
// connections delayed a health check by 44 s. Here one thread (epoll) holds
// the connections that have nothing to answer yet, reads their next head
// as it comes, and hands a connection back to the request threads once its
// head is complete (or too long, or late: the thread then answers 431 or
// 408). An idle connection is closed after `idle`; past `max_parked`, the
// longest-parked connection is closed to make room. While none waits, the
// thread sleeps until one comes (an idle node's lobby costs nothing).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace mesh {

/// A connection between two requests.
struct parked_connection {
  using clock_type = std::chrono::steady_clock;
  int fd = -1;
  std::string bytes;   ///< what came of its next request so far
  size_t requests_left = 0; ///< keep-alive requests it may still make
  clock_type::time_point head_at; ///< when `bytes` began (if any came)
};

/// True when `bytes` hold a whole request head (up to its blank line) or
/// more than `max_head`.
bool head_ready(const std::string& bytes, size_t max_head);

/// What read_head found.
enum class head_state { ready, pending, closed };

/// Reads what c's socket has, without waiting, into c.bytes (setting
/// c.head_at at the first byte) until the head is ready (head_ready) or
/// nothing more is there; `closed` when the client hung up or the socket
/// broke (the caller closes it).
head_state read_head(parked_connection& c, size_t max_head);

class connection_lobby {
public:
  using clock_type = parked_connection::clock_type;
  /// Runs on the lobby's thread: must not block.
  using handoff = std::function<void(parked_connection)>;

  struct limits {
    std::chrono::milliseconds idle{2000};
    std::chrono::milliseconds head_deadline{10000};
    size_t max_head_bytes = 64 * 1024;
    size_t max_parked = 4096;
  };

  connection_lobby(handoff ready, limits lim);
  ~connection_lobby();
  connection_lobby(const connection_lobby&) = delete;
  connection_lobby& operator=(const connection_lobby&) = delete;

  /// Holds `c` until its head is ready (then `ready(c)`), it closes, or it
  /// has waited too long. Any thread; once stopped, closes `c`.
  void park(parked_connection c);

  /// Closes every parked connection and joins the thread; `ready` is not
  /// called after it returns. Idempotent.
  void stop();

  size_t parked() const;

  /// How often its thread woke (for tests: an empty lobby sleeps until a
  /// connection comes, costing an idle node nothing).
  size_t rounds() const {
    return rounds_.load(std::memory_order_relaxed);
  }

private:
  struct entry {
    parked_connection conn;
    clock_type::time_point since;
  };
  using entries = std::list<entry>;

  void run();
  // Under mtx_: reads what the connection has; closes it if the client
  // hung up, moves it into `out` once its head is ready.
  void read_into(entries::iterator i, std::vector<parked_connection>& out);
  // Under mtx_: out of the lobby and into `out`, for a request thread.
  void hand_out(entries::iterator i, std::vector<parked_connection>& out);
  void sweep(std::vector<parked_connection>& out);
  void drop(entries::iterator i); // under mtx_: closes and forgets

  handoff ready_;
  limits lim_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  mutable std::mutex mtx_;
  entries order_; // oldest first
  std::unordered_map<int, entries::iterator> by_fd_;
  bool stopping_ = false;
  std::atomic<size_t> rounds_{0};
  std::thread thread_;
};

} // namespace mesh
