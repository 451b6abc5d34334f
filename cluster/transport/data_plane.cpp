#include "cluster/transport/data_plane.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/security/handshake.hpp"

namespace mesh {

namespace {

constexpr uint64_t listen_tag = 1;
constexpr uint64_t wake_tag = 2;
// Connections that have not said hello yet, at most: a stranger opening
// many cannot hold more of this node's descriptors than this.
constexpr size_t max_unproven = 64;
// The largest frame before the hello: a hello carries a 32-byte token.
constexpr uint32_t max_hello_frame = 256;

using steady = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           steady::now().time_since_epoch())
    .count();
}

// No Nagle (a lone request must not wait for an ACK), and a peer that
// vanished without a word (a cable, a NAT) is noticed in about 30 s even
// while its BASP connection looks fine.
void tune_socket(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  int idle = 10, interval = 5, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  unsigned timeout_ms = 30000; // unacknowledged data
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms,
               sizeof(timeout_ms));
}

// Sends what waits and reads what came until the peer's FIN or `until`,
// then closes: a close with unread bytes would reset the connection and
// could drop answers the peer has not read yet.
void close_gracefully(int fd, std::string& pending, int64_t until) {
  if (pending.empty())
    ::shutdown(fd, SHUT_WR);
  char buf[4096];
  while (now_ms() < until) {
    if (!pending.empty()) {
      auto n = ::send(fd, pending.data(), pending.size(),
                      MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0)
        pending.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        break;
      if (pending.empty())
        ::shutdown(fd, SHUT_WR);
    }
    auto n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      break;
    if (n < 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// The addresses of `host` (numeric or a name), port `port`.
addrinfo* resolve(const std::string& host, uint16_t port, bool passive,
                  std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* out = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &out);
      rc != 0) {
    why = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  return out;
}

} // namespace

data_plane::data_plane(data_plane_config cfg) : cfg_(std::move(cfg)) {
  // Nothing.
}

data_plane::~data_plane() {
  stop();
}

std::string data_plane::start(data_plane_handlers handlers) {
  handlers_ = std::move(handlers);
  std::string why;
  auto* ai = resolve(cfg_.host, 0, true, why);
  if (ai == nullptr)
    return why;
  int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
  int one = 1;
  if (fd >= 0)
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
      || ::listen(fd, 128) != 0) {
    why = "cannot listen for the data plane on " + cfg_.host + ": "
          + errno_text(errno);
    ::freeaddrinfo(ai);
    if (fd >= 0)
      ::close(fd);
    return why;
  }
  ::freeaddrinfo(ai);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6
                  ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                  : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  listen_fd_ = fd;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    return "cannot start the data plane: " + errno_text(errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = listen_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = wake_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { run(); });
  return {};
}

void data_plane::stop() {
  bool was_running = thread_.joinable();
  if (was_running) {
    stopping_ = true;
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  std::unordered_map<uint64_t, data_link_ptr> links;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    links.swap(links_);
    outbound_.clear();
    tokens_.clear();
  }
  // Answers already written (or waiting) reach the peers: a second at most
  // for all links together.
  auto until = now_ms() + (was_running ? 1000 : 0);
  for (auto& [id, link] : links) {
    std::lock_guard<std::mutex> guard{link->mtx_};
    link->open_ = false;
    if (link->fd_ >= 0 && link->ready_)
      close_gracefully(link->fd_, link->pending_, until);
  }
  for (auto& [id, link] : links)
    link->close_fd();
  for (int* fd : {&listen_fd_, &wake_fd_, &epoll_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

std::string data_plane::issue_token(uint64_t owner, request_handler fn) {
  auto token = random_hex_token();
  std::lock_guard<std::mutex> guard{mtx_};
  tokens_[token] = {owner, std::move(fn), steady::now() + cfg_.token_lifetime};
  return token;
}

void data_plane::close_owner(uint64_t owner) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = tokens_.begin(); i != tokens_.end();)
    i = i->second.owner == owner ? tokens_.erase(i) : std::next(i);
  for (auto& [id, link] : links_)
    if (link->direction() == data_link::role::inbound && link->owner_ == owner) {
      // The plane's thread sees the hang-up and closes it; the peer's
      // outbound end fails the attempts it carried.
      std::lock_guard<std::mutex> link_guard{link->mtx_};
      link->fail_locked();
    }
}

void data_plane::dial(const std::string& peer, const std::string& incarnation,
                      const std::string& host, uint16_t port,
                      const std::string& token) {
  if (epoll_fd_ < 0 || port == 0 || token.empty())
    return;
  std::string why;
  auto* ai = resolve(host, port, false, why);
  if (ai == nullptr) {
    warn("no data link to " + peer + ": " + why);
    return;
  }
  int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
  if (fd < 0 || (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0
                 && errno != EINPROGRESS)) {
    warn("no data link to " + peer + " at " + host + ":" + std::to_string(port)
         + ": " + errno_text(errno));
    ::freeaddrinfo(ai);
    if (fd >= 0)
      ::close(fd);
    return;
  }
  ::freeaddrinfo(ai);
  tune_socket(fd);
  std::lock_guard<std::mutex> guard{mtx_};
  // A new handshake means a new ingress over there (or a new process): the
  // old link retires. It stays open for the answers still to come on it
  // and closes later (its peer may close it first).
  if (auto i = outbound_.find(peer); i != outbound_.end()) {
    auto& old = i->second;
    std::lock_guard<std::mutex> old_guard{old->mtx_};
    if (old->ready_ && old->incarnation() == incarnation)
      old->retire_at_ms_ = now_ms() + cfg_.retire_after.count();
    else
      old->fail_locked(); // connecting still, or an older process's
  }
  auto id = next_id_++;
  auto link = std::make_shared<data_link>(id, fd, data_link::role::outbound,
                                          peer, incarnation,
                                          cfg_.max_frame_bytes,
                                          cfg_.max_pending_bytes);
  link->set_epoll(epoll_fd_);
  link->since_ms_ = now_ms();
  // Waits in the link's buffer until the connect completes.
  link->send(frame_kind::hello, token.size(), [&](uint8_t* p) {
    std::memcpy(p, token.data(), token.size());
  });
  links_[id] = link;
  outbound_[peer] = link;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

data_link_ptr data_plane::link_to(const std::string& peer) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = outbound_.find(peer);
  if (i == outbound_.end() || !i->second->open())
    return nullptr;
  return i->second;
}

size_t data_plane::link_count() const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (const auto& [id, link] : links_)
    n += link->open();
  return n;
}

data_link_ptr data_plane::find(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = links_.find(id);
  return i == links_.end() ? nullptr : i->second;
}

void data_plane::warn(const std::string& what) {
  if (handlers_.on_warning)
    handlers_.on_warning(what);
}

void data_plane::run() {
  std::vector<epoll_event> events(64);
  auto last_expiry = now_ms();
  while (!stopping_) {
    int n = ::epoll_wait(epoll_fd_, events.data(),
                         static_cast<int>(events.size()), 250);
    for (int i = 0; i < n && !stopping_; ++i) {
      auto tag = events[i].data.u64;
      if (tag == listen_tag) {
        accept_all();
      } else if (tag == wake_tag) {
        uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof(count));
      } else {
        on_event(tag, events[i].events);
      }
    }
    if (auto t = now_ms(); t - last_expiry >= 250) {
      last_expiry = t;
      expire();
    }
  }
}

void data_plane::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
          || errno == ENOMEM)
        pause_accepting(); // else the listener stays ready: a busy loop
      return;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    size_t unproven = 0;
    for (const auto& [id, link] : links_)
      unproven += link->direction() == data_link::role::inbound
                  && link->on_request_ == nullptr;
    if (unproven >= max_unproven) {
      ::close(fd);
      continue;
    }
    tune_socket(fd);
    auto id = next_id_++;
    auto link = std::make_shared<data_link>(id, fd, data_link::role::inbound,
                                            std::string{}, std::string{},
                                            cfg_.max_frame_bytes,
                                            cfg_.max_pending_bytes);
    link->set_epoll(epoll_fd_);
    link->since_ms_ = now_ms();
    links_[id] = link;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void data_plane::on_event(uint64_t id, uint32_t events) {
  auto link = find(id);
  if (!link)
    return;
  if (events & EPOLLOUT) {
    bool connecting;
    {
      std::lock_guard<std::mutex> guard{link->mtx_};
      connecting = !link->ready_;
    }
    if (connecting && link->direction() == data_link::role::outbound)
      connected(link);
    else
      link->drain();
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    read_all(link);
}

void data_plane::connected(const data_link_ptr& link) {
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(link->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    close_link(link, "cannot connect to " + link->peer() + "'s data port: "
                       + errno_text(err));
    return;
  }
  {
    std::lock_guard<std::mutex> guard{link->mtx_};
    link->ready_ = true;
  }
  link->drain(); // the hello, then whatever is queued
  if (handlers_.on_ready && link->alive())
    handlers_.on_ready(link->peer());
}

void data_plane::read_all(const data_link_ptr& link) {
  char buf[64 * 1024];
  for (;;) {
    auto n = ::recv(link->fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) {
      close_link(link, {}); // the other side closed: nothing to say
      return;
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        close_link(link, {});
      return;
    }
    auto& in = link->in_;
    in.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    while (in.size() - off >= frame_header_size) {
      auto* p = reinterpret_cast<const uint8_t*>(in.data() + off);
      uint32_t size = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
                      | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
      // Before the hello a stranger gets no more than a hello's room.
      bool proven = link->direction() == data_link::role::outbound
                    || link->on_request_ != nullptr;
      size_t bound = proven ? cfg_.max_frame_bytes : max_hello_frame;
      if (size == 0 || size - 1 > bound) {
        close_link(link, "a frame of " + std::to_string(size)
                           + " bytes, over the bound of "
                           + std::to_string(bound));
        return;
      }
      if (in.size() - off - 4 < size)
        break;
      auto kind = static_cast<frame_kind>(p[4]);
      std::string_view body{in.data() + off + frame_header_size, size - 1};
      if (!on_frame(link, kind, body))
        return;
      off += 4 + size;
    }
    in.erase(0, off);
    if (static_cast<size_t>(n) < sizeof(buf))
      return; // drained: the next epoll round reports more
  }
}

bool data_plane::on_frame(const data_link_ptr& link, frame_kind kind,
                          std::string_view body) {
  if (link->direction() == data_link::role::outbound) {
    if (kind != frame_kind::reply) {
      close_link(link, link->peer() + " sent a frame of kind "
                         + std::to_string(static_cast<int>(kind))
                         + " on a link this node dialled");
      return false;
    }
    if (handlers_.on_reply && !handlers_.on_reply(link->peer(), body)) {
      close_link(link, link->peer() + " sent a reply frame that does not "
                                      "parse");
      return false;
    }
    return true;
  }
  if (!link->on_request_) {
    if (kind == frame_kind::hello && on_hello(link, body))
      return true;
    close_link(link, "a connection to the data port did not present a "
                     "valid token");
    return false;
  }
  if (kind != frame_kind::request) {
    close_link(link, "a peer sent a frame of kind "
                       + std::to_string(static_cast<int>(kind))
                       + " on a link it dialled");
    return false;
  }
  if (!link->on_request_(link, body)) {
    close_link(link, "a peer sent a request frame that does not parse");
    return false;
  }
  return true;
}

bool data_plane::on_hello(const data_link_ptr& link, std::string_view token) {
  request_handler fn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    // Every token is compared in full: the time taken says nothing of how
    // much of a guess was right.
    for (auto i = tokens_.begin(); i != tokens_.end(); ++i) {
      if (i->first.size() == token.size()
          && CRYPTO_memcmp(i->first.data(), token.data(), token.size()) == 0) {
        if (i->second.until >= steady::now()) {
          fn = std::move(i->second.fn);
          link->owner_ = i->second.owner;
        }
        tokens_.erase(i); // good for one connection
        break;
      }
    }
  }
  if (!fn)
    return false;
  link->on_request_ = std::move(fn);
  std::lock_guard<std::mutex> guard{link->mtx_};
  link->ready_ = true;
  return true;
}

void data_plane::close_link(const data_link_ptr& link, const std::string& why) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    links_.erase(link->id());
    if (auto i = outbound_.find(link->peer());
        i != outbound_.end() && i->second == link)
      outbound_.erase(i);
  }
  bool was_ready;
  bool overflowed;
  {
    std::lock_guard<std::mutex> guard{link->mtx_};
    was_ready = link->ready_;
    overflowed = link->overflowed_;
  }
  link->close_fd();
  link->on_request_ = nullptr; // what it captured goes now
  link->in_.clear();
  if (overflowed)
    warn("closed the data link "
         + (link->peer().empty() ? std::string{"from a peer"}
                                 : "to " + link->peer())
         + ": it stopped reading, and more than "
         + std::to_string(cfg_.max_pending_bytes)
         + " bytes waited for it (limits.max_peer_backlog_bytes)");
  else if (!why.empty())
    warn(why);
  if (link->direction() == data_link::role::outbound && was_ready
      && handlers_.on_closed)
    handlers_.on_closed(link->peer(), link->id());
}

void data_plane::pause_accepting() {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  accept_paused_until_ = now_ms() + 1000;
  warn("out of file descriptors: the data port stops accepting for 1 s");
}

void data_plane::expire() {
  auto t = now_ms();
  if (accept_paused_until_ != 0 && t >= accept_paused_until_) {
    accept_paused_until_ = 0;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = listen_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  }
  auto now = steady::now();
  std::vector<data_link_ptr> late, failed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = tokens_.begin(); i != tokens_.end();)
      i = i->second.until < now ? tokens_.erase(i) : std::next(i);
    for (const auto& [id, link] : links_) {
      // Failed while no event came (still connecting), or retired.
      if (!link->alive()
          || (link->retire_at_ms_ != 0 && t >= link->retire_at_ms_)) {
        failed.push_back(link);
        continue;
      }
      bool waiting = link->direction() == data_link::role::inbound
                       ? link->on_request_ == nullptr
                       : !link->open();
      if (waiting && t - link->since_ms_ > cfg_.hello_timeout.count())
        late.push_back(link);
    }
  }
  for (auto& link : failed)
    close_link(link, {});
  for (auto& link : late)
    close_link(link, link->direction() == data_link::role::inbound
                       ? "a connection to the data port said no hello in "
                           + std::to_string(cfg_.hello_timeout.count()) + " ms"
                       : "cannot connect to " + link->peer()
                           + "'s data port in "
                           + std::to_string(cfg_.hello_timeout.count())
                           + " ms");
}

} // namespace mesh
