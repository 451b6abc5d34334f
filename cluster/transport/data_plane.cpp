#include "cluster/transport/data_plane.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/security/handshake.hpp"
#include "cluster/transport/data_sockets.hpp"

namespace mesh {

using namespace data_sockets;

using steady = std::chrono::steady_clock;

data_plane::data_plane(data_plane_config cfg)
  : cfg_(std::move(cfg)), alive_(std::make_shared<liveness>()) {
  alive_->plane = this;
}

data_plane::~data_plane() {
  stop();
}

namespace {

bool is_ip_address(const std::string& host) {
  in6_addr buf;
  return ::inet_pton(AF_INET, host.c_str(), &buf) == 1
         || ::inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

} // namespace

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
  // A deep accept queue: every peer of a large cluster that starts at once
  // dials its link here within milliseconds. The kernel caps it at
  // net.core.somaxconn (glibc's SOMAXCONN said 128 before 2.35).
  if (fd < 0 || ::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
      || ::listen(fd, std::max(SOMAXCONN, 4096)) != 0) {
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
  {
    // A lookup still under way finds no plane when it is done (one ending
    // now finishes its dial first: it holds the lock while it dials).
    std::lock_guard<std::mutex> guard{alive_->mtx};
    alive_->plane = nullptr;
  }
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
    if (link->fd_ >= 0 && link->ready_) {
      if (link->ssl_ != nullptr)
        tls_flush_and_close(link->ssl_, link->fd_, link->pending_, until);
      close_gracefully(link->fd_, link->pending_, until);
    }
  }
  for (auto& [id, link] : links) {
    link->close_fd();
    link->on_request_ = nullptr; // it holds an actor handle: let it go now
  }
  for (int* fd : {&listen_fd_, &wake_fd_, &epoll_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

std::string data_plane::issue_token(uint64_t owner, request_handler fn) {
  auto token = random_hex_token();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    tokens_[token] = {owner, std::move(fn),
                      steady::now() + cfg_.token_lifetime};
  }
  wake_for_deadlines();
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
  auto where = host + ":" + std::to_string(port);
  if (!is_ip_address(host)) {
    // getaddrinfo may wait seconds on a DNS server, and the caller is the
    // connection manager, whose heartbeats must not wait with it. Meanwhile
    // the link counts as connecting (has_link_to).
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++resolving_[peer];
    }
    auto look_up_and_dial = [alive = alive_, lookup = cfg_.lookup, peer,
                             incarnation, host, port, token, where] {
      std::string why;
      auto* ai = lookup ? lookup(host, port, why)
                        : resolve(host, port, false, why);
      std::lock_guard<std::mutex> guard{alive->mtx};
      auto* plane = alive->plane;
      if (plane == nullptr) {
        if (ai != nullptr)
          ::freeaddrinfo(ai);
        return;
      }
      plane->resolved(peer);
      if (ai == nullptr)
        plane->warn("no data link to " + peer + ": " + why);
      else
        plane->dial_resolved(peer, incarnation, ai, where, token);
    };
    try {
      std::thread{std::move(look_up_and_dial)}.detach();
    } catch (const std::exception& e) { // no thread to be had
      resolved(peer);
      warn("no data link to " + peer + ": cannot look up " + host + ": "
           + e.what());
    }
    return;
  }
  std::string why;
  auto* ai = resolve(host, port, false, why);
  if (ai == nullptr) {
    warn("no data link to " + peer + ": " + why);
    return;
  }
  dial_resolved(peer, incarnation, ai, where, token);
}

void data_plane::dial_resolved(const std::string& peer,
                               const std::string& incarnation, addrinfo* ai,
                               const std::string& where,
                               const std::string& token) {
  if (stopping_.load() || epoll_fd_ < 0) {
    ::freeaddrinfo(ai);
    return;
  }
  int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
  if (fd < 0 || (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0
                 && errno != EINPROGRESS)) {
    warn("no data link to " + peer + " at " + where + ": " + errno_text(errno));
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
  quiet_ = false; // the connect has a deadline (the wake-up follows)
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void data_plane::wake_for_deadlines() {
  quiet_ = false;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  }
}

data_link_ptr data_plane::link_to(const std::string& peer) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = outbound_.find(peer);
  if (i == outbound_.end() || !i->second->open())
    return nullptr;
  return i->second;
}

void data_plane::resolved(const std::string& peer) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = resolving_.find(peer); i != resolving_.end() && --i->second == 0)
    resolving_.erase(i);
}

bool data_plane::has_link_to(const std::string& peer) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (resolving_.count(peer) > 0)
    return true; // its address is being looked up
  auto i = outbound_.find(peer);
  return i != outbound_.end() && i->second->alive();
}

size_t data_plane::fail_outbound() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [peer, link] : outbound_) {
    std::lock_guard<std::mutex> link_guard{link->mtx_};
    link->fail_locked(); // the plane's thread sees the hang-up
  }
  return outbound_.size();
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

} // namespace mesh
