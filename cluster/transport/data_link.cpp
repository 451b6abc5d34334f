#include "cluster/transport/data_link.hpp"

#include <cerrno>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/transport/tls/data_tls.hpp"

namespace mesh {

data_link::data_link(uint64_t id, int fd, role r, std::string peer,
                     std::string incarnation, size_t max_body,
                     size_t max_pending, bool same_host)
  : id_(id),
    role_(r),
    peer_(std::move(peer)),
    incarnation_(std::move(incarnation)),
    max_body_(max_body),
    max_pending_(max_pending),
    same_host_(same_host),
    fd_(fd) {
  // Nothing.
}

data_link::~data_link() {
  close_fd();
}

bool data_link::open() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_ && ready_;
}

bool data_link::alive() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_;
}

bool data_link::send_frame(std::string frame) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!open_ || fd_ < 0)
    return false;
  if (!ready_ || !pending_.empty()) {
    // Behind what waits (or the connect): the plane's thread sends it.
    if (pending_.size() + frame.size() > max_pending_) {
      // The peer stopped reading: as BASP's transport does, cut the link
      // (what it carried fails; what follows goes by BASP, bounded there).
      overflowed_ = true;
      fail_locked();
      return false;
    }
    pending_ += frame;
    return true;
  }
  size_t sent = 0;
  while (sent < frame.size()) {
    auto n = write_some_locked(frame.data() + sent, frame.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n == 0) {
      // The same bytes first: what a TLS session asks to be written again.
      pending_.assign(frame, sent, std::string::npos);
      watch_locked(true);
      return true;
    } else {
      // The frame may be cut: the stream is useless from here on.
      fail_locked();
      return false;
    }
  }
  return true;
}

ssize_t data_link::write_some_locked(const char* p, size_t n) {
  if (ssl_ != nullptr)
    return tls_write(ssl_, p, n);
  for (;;) {
    auto r = ::send(fd_, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0)
      return r;
    if (errno != EINTR)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

ssize_t data_link::read_some(char* p, size_t n) {
  if (ssl_ != nullptr) {
    // Senders write through the same session: one at a time.
    std::lock_guard<std::mutex> guard{mtx_};
    return tls_read(ssl_, p, n);
  }
  for (;;) {
    auto r = ::recv(fd_, p, n, MSG_DONTWAIT);
    if (r > 0)
      return r;
    if (r == 0)
      return -1; // the peer closed
    if (errno != EINTR)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

void data_link::watch_locked(bool out) {
  epoll_event ev{};
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.u64 = id_;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd_, &ev);
}

bool data_link::drain() {
  std::lock_guard<std::mutex> guard{mtx_};
  while (!pending_.empty() && open_ && fd_ >= 0) {
    auto n = write_some_locked(pending_.data(), pending_.size());
    if (n > 0) {
      pending_.erase(0, static_cast<size_t>(n));
    } else if (n == 0) {
      return false;
    } else {
      fail_locked();
      return true;
    }
  }
  if (fd_ >= 0 && open_)
    watch_locked(false);
  return true;
}

void data_link::fail_locked() {
  open_ = false;
  pending_.clear();
  // The plane's thread sees the hang-up and closes the link.
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_RDWR);
}

void data_link::close_fd() {
  std::lock_guard<std::mutex> guard{mtx_};
  open_ = false;
  pending_.clear();
  free_tls_session(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) {
    if (epfd_ >= 0)
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
    fd_ = -1;
  }
}

} // namespace mesh
