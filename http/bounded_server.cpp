#include "http/bounded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mesh {

namespace {

using clock_type = std::chrono::steady_clock;

/// What the stream of this thread refused last (reset per request).
thread_local bounded_server::refusal refused;

/// Set by close_after_answer() (reset per request).
thread_local bool closing = false;

/// Waits up to `ms` for `events` on `fd`: true when they came.
bool wait_for(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    auto n = ::poll(&p, 1, ms);
    if (n >= 0)
      return n > 0;
    if (errno != EINTR)
      return false;
  }
}

int to_ms(time_t sec, time_t usec) {
  return static_cast<int>(sec * 1000 + usec / 1000);
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  auto* p = reinterpret_cast<sockaddr*>(&sa);
  if ((peer ? ::getpeername(fd, p, &len) : ::getsockname(fd, p, &len)) != 0)
    return;
  char text[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    port = ntohs(in->sin6_port);
  }
  ip = text;
}

/// A connection's stream for one request: buffered reads (httplib reads a
/// head byte by byte), the head bounded in size and time and the body in
/// size. Once a read failed, every later one fails too.
class bounded_stream final : public httplib::Stream {
public:
  /// `prefix`: what has come of the first request already (the lobby's or
  /// gather()'s reads), its first byte at `first_byte`.
  bounded_stream(int fd, int read_ms, int write_ms, size_t max_body,
                 std::string prefix, clock_type::time_point first_byte)
    : fd_(fd),
      read_ms_(read_ms),
      write_ms_(write_ms),
      buf_(std::move(prefix)),
      len_(buf_.size()),
      in_head_(true),
      head_started_(len_ > 0),
      max_body_(max_body),
      head_started_at_(first_byte) {
    refused = {};
    closing = false;
  }

  /// What has come after the request just answered (a pipelined next one).
  std::string rest() const {
    return buf_.substr(pos_, len_ - pos_);
  }

  bool failed() const {
    return failed_;
  }

  bool buffered() const {
    return pos_ < len_;
  }

  bool is_readable() const override {
    return buffered() || (!failed_ && await_bytes());
  }

  bool is_writable() const override {
    return wait_for(fd_, POLLOUT, write_ms_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (failed_ || size == 0)
      return failed_ ? -1 : 0;
    if (!buffered() && !in_head_ && size >= buffer_bytes) {
      // A large read of a body goes straight into the caller's buffer.
      if (!await_bytes()) {
        failed_ = true;
        return -1;
      }
      auto got = ::recv(fd_, ptr, size, 0);
      if (got <= 0) {
        failed_ = true;
        return -1;
      }
      return count_body(static_cast<size_t>(got)) ? got : -1;
    }
    if (!buffered() && !fill())
      return -1;
    size_t n = std::min(size, len_ - pos_);
    if (in_head_ ? !count_head(n) : !count_body(n))
      return -1;
    std::memcpy(ptr, buf_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!wait_for(fd_, POLLOUT, write_ms_))
      return -1;
    return ::send(fd_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, true, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, false, ip, port);
  }

  socket_t socket() const override {
    return fd_;
  }

private:
  // How long a read may wait: the read timeout, and no longer than what
  // is left of the head's deadline, or of the body's.
  int wait_ms() const {
    clock_type::time_point deadline;
    if (in_head_ && head_started_)
      deadline = head_started_at_ + bounded_server::head_deadline;
    else if (!in_head_)
      deadline = body_started_at_ + bounded_server::body_grace
                 + std::chrono::milliseconds{
                   body_bytes_ * 1000 / bounded_server::min_body_rate};
    else
      return read_ms_;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
      deadline - clock_type::now());
    return static_cast<int>(
      std::clamp<long long>(left.count(), 0, read_ms_));
  }

  // Waits for bytes to read; a head or body past its deadline is refused.
  bool await_bytes() const {
    auto ms = wait_ms();
    if (wait_for(fd_, POLLIN, ms))
      return true;
    if (ms >= read_ms_) // the read timeout: httplib's 400
      return false;
    if (in_head_)
      refuse(408, "the request's line and headers did not arrive within "
                    + std::to_string(bounded_server::head_deadline.count())
                    + " s");
    else
      refuse(408, "the request's body did not arrive in time (it may take "
                    + std::to_string(bounded_server::body_grace.count())
                    + " s, and a second more for every "
                    + std::to_string(bounded_server::min_body_rate / 1024)
                    + " KiB it brings)");
    return false;
  }

  bool fill() {
    if (!await_bytes()) {
      failed_ = true; // the request broke off: the rest is not read
      return false;
    }
    if (buf_.size() < buffer_bytes)
      buf_.resize(buffer_bytes);
    auto n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n <= 0) {
      failed_ = true; // closed or broken: nothing more will come
      return false;
    }
    pos_ = 0;
    len_ = static_cast<size_t>(n);
    return true;
  }

  // Counts the next `n` buffered bytes into the head; the head ends at its
  // blank line ("\n\r\n", as httplib ends it). False when over the limit.
  bool count_head(size_t& n) {
    if (!head_started_) {
      head_started_ = true;
      head_started_at_ = clock_type::now();
    }
    for (size_t i = 0; i < n; ++i) {
      if (++head_bytes_ > bounded_server::max_head_bytes) {
        refuse(431, "the request's line and headers exceed "
                      + std::to_string(bounded_server::max_head_bytes)
                      + " bytes");
        return false;
      }
      char c = buf_[pos_ + i];
      tail_ = c == '\n' ? (tail_ == 2 ? 3 : 1)
                        : (c == '\r' && tail_ == 1 ? 2 : 0);
      if (tail_ == 3) { // the rest is the body's
        in_head_ = false;
        body_started_at_ = clock_type::now();
        n = i + 1;
        return true;
      }
    }
    return true;
  }

  // Counts `n` bytes of a body as they come on the wire (chunk sizes
  // included): httplib bounds a body by its Content-Length only, and read
  // a chunked one of any size.
  bool count_body(size_t n) {
    body_bytes_ += n;
    if (body_bytes_ <= max_body_)
      return true;
    refuse(413, {}); // said as for any body over the limit
    return false;
  }

  void refuse(int status, std::string why) const {
    failed_ = true;
    refused = {status, std::move(why)};
  }

  static constexpr size_t buffer_bytes = 4096;

  int fd_;
  int read_ms_;
  int write_ms_;
  std::string buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  mutable bool failed_ = false; // set by is_readable() too
  bool in_head_;
  bool head_started_;
  size_t head_bytes_ = 0;
  size_t max_body_;
  size_t body_bytes_ = 0;
  int tail_ = 0; // 1 after "\n", 2 after "\n\r", 3: the head ended
  clock_type::time_point head_started_at_;
  clock_type::time_point body_started_at_;
};

} // namespace

bounded_server::refusal bounded_server::last_refusal() {
  return refused;
}

void bounded_server::close_after_answer() {
  closing = true;
}

bounded_server::bounded_server(size_t threads)
  : lobby_(std::make_unique<connection_lobby>(
      [this](parked_connection c) {
        queue_.load()->enqueue(
          [this, c]() mutable { serve(std::move(c)); });
      },
      connection_lobby::limits{keep_alive, head_deadline, max_head_bytes,
                               max_parked})) {
  new_task_queue = [this, threads] {
    auto* q = new httplib::ThreadPool(threads);
    queue_ = q;
    return q;
  };
  set_keep_alive_timeout(keep_alive.count());
}

bounded_server::~bounded_server() = default;

void bounded_server::widen_backlog() {
  // Listening again on a listening socket sets its backlog (Linux).
  ::listen(svr_sock_, SOMAXCONN);
}

void bounded_server::stop_lobby() {
  lobby_->stop();
}

bool bounded_server::process_and_close_socket(socket_t sock) {
  // httplib's accept loop hands every new connection to a request thread
  // here; the connection may then go to the lobby and come back.
  serve({sock, {}, keep_alive_max_count_, {}});
  return true;
}

bool bounded_server::gather(parked_connection& c) {
  auto until = clock_type::now() + hot_wait;
  for (;;) {
    auto state = read_head(c, max_head_bytes);
    if (state == head_state::ready)
      return true;
    if (state == head_state::closed) {
      ::shutdown(c.fd, SHUT_RDWR);
      ::close(c.fd);
      return false;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
      until - clock_type::now());
    if (left.count() <= 0
        || !wait_for(c.fd, POLLIN, static_cast<int>(left.count())))
      break;
  }
  lobby_->park(std::move(c));
  return false;
}

void bounded_server::serve(parked_connection c) {
  // Chunk sizes travel with a chunked body: twice the payload limit leaves
  // them room.
  auto max_body = payload_max_length_ > SIZE_MAX / 2 ? SIZE_MAX
                                                     : 2 * payload_max_length_;
  while (svr_sock_ != INVALID_SOCKET) {
    // A head past its deadline goes to the stream, which answers 408.
    bool late = !c.bytes.empty()
                && clock_type::now() - c.head_at >= head_deadline;
    if (!late && !head_ready(c.bytes, max_head_bytes) && !gather(c))
      return; // in the lobby, or closed
    bounded_stream strm{c.fd,
                        to_ms(read_timeout_sec_, read_timeout_usec_),
                        to_ms(write_timeout_sec_, write_timeout_usec_),
                        max_body,
                        std::move(c.bytes),
                        c.head_at};
    bool closed = false;
    bool ok = process_request(strm, c.requests_left == 1, closed, nullptr);
    if (!ok || closed || closing || strm.failed() || --c.requests_left == 0)
      break;
    c.bytes = strm.rest();
    c.head_at = clock_type::now();
  }
  ::shutdown(c.fd, SHUT_RDWR);
  ::close(c.fd);
}

} // namespace mesh
