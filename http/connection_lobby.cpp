#include "http/connection_lobby.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace mesh {

bool head_ready(const std::string& bytes, size_t max_head) {
  // httplib ends a head at an empty CRLF line, as bounded_stream counts it.
  return bytes.size() > max_head || bytes.find("\n\r\n") != std::string::npos;
}

head_state read_head(parked_connection& c, size_t max_head) {
  char buf[4096];
  for (;;) {
    auto n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (c.bytes.empty())
        c.head_at = parked_connection::clock_type::now();
      c.bytes.append(buf, static_cast<size_t>(n));
      if (head_ready(c.bytes, max_head))
        return head_state::ready;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return head_state::pending;
    return head_state::closed;
  }
}

connection_lobby::connection_lobby(handoff ready, limits lim)
  : ready_(std::move(ready)), lim_(lim) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread{[this] { run(); }};
}

connection_lobby::~connection_lobby() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void connection_lobby::park(parked_connection c) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopping_) {
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    return;
  }
  if (order_.size() >= lim_.max_parked)
    drop(order_.begin());
  if (order_.empty()) { // the thread may sleep with no deadline: wake it
    uint64_t one = 1;
    static_cast<void>(::write(wake_fd_, &one, sizeof one));
  }
  int fd = c.fd;
  order_.push_back({std::move(c), clock_type::now()});
  by_fd_[fd] = std::prev(order_.end());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    drop(std::prev(order_.end()));
}

void connection_lobby::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  uint64_t one = 1;
  static_cast<void>(::write(wake_fd_, &one, sizeof one));
  thread_.join();
  std::lock_guard<std::mutex> guard{mtx_};
  while (!order_.empty())
    drop(order_.begin());
}

size_t connection_lobby::parked() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return order_.size();
}

void connection_lobby::drop(entries::iterator i) {
  int fd = i->conn.fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  by_fd_.erase(fd);
  order_.erase(i);
}

void connection_lobby::hand_out(entries::iterator i,
                                std::vector<parked_connection>& out) {
  int fd = i->conn.fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  by_fd_.erase(fd);
  out.push_back(std::move(i->conn));
  order_.erase(i);
}

void connection_lobby::read_into(entries::iterator i,
                                 std::vector<parked_connection>& out) {
  switch (read_head(i->conn, lim_.max_head_bytes)) {
    case head_state::pending:
      return;
    case head_state::closed:
      drop(i);
      return;
    case head_state::ready:
      hand_out(i, out);
      return;
  }
}

void connection_lobby::sweep(std::vector<parked_connection>& out) {
  auto now = clock_type::now();
  for (auto i = order_.begin(); i != order_.end();) {
    auto next = std::next(i);
    const auto& c = i->conn;
    if (c.bytes.empty()) {
      if (now - i->since >= lim_.idle)
        drop(i);
    } else if (now - c.head_at >= lim_.head_deadline) {
      hand_out(i, out); // late: a request thread answers 408 at once
    }
    i = next;
  }
}

void connection_lobby::run() {
  constexpr int tick_ms = 100; // deadlines are seconds: a tenth is enough
  epoll_event events[64];
  auto last_sweep = clock_type::now();
  std::vector<parked_connection> out;
  int timeout_ms = -1; // an empty lobby has no deadline to keep
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, 64, timeout_ms);
    rounds_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      for (int k = 0; k < n; ++k) {
        if (events[k].data.fd == wake_fd_) {
          uint64_t count = 0;
          static_cast<void>(::read(wake_fd_, &count, sizeof count));
          continue;
        }
        auto i = by_fd_.find(events[k].data.fd);
        if (i != by_fd_.end())
          read_into(i->second, out);
      }
      auto now = clock_type::now();
      if (now - last_sweep >= std::chrono::milliseconds{tick_ms}) {
        last_sweep = now;
        sweep(out);
      }
      // Read under the lock: a park() after it writes wake_fd_.
      timeout_ms = order_.empty() ? -1 : tick_ms;
    }
    for (auto& c : out)
      ready_(std::move(c));
    out.clear();
  }
}

} // namespace mesh
