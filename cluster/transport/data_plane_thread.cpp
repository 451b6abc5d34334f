// The data plane's thread: accepting, reading frames, the hello, closing
// and expiring links (data_plane.hpp).
#include "cluster/transport/data_plane.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/transport/data_sockets.hpp"
#include "cluster/transport/frame_format.hpp"

namespace mesh {

using namespace data_sockets;

namespace {

// Connections that have not said hello yet, at most: a stranger opening
// many cannot hold more of this node's descriptors than this, nor, from
// one address, more than a quarter of them (peers' dials from the same
// host are proven within a round trip, so 16 at once is a burst of 16).
constexpr size_t max_unproven = 64;
constexpr size_t max_unproven_per_address = 16;

// The largest frame before the hello: a hello carries a 32-byte token.
constexpr uint32_t max_hello_frame = 256;

using steady = std::chrono::steady_clock;

} // namespace

void data_plane::run() {
  std::vector<epoll_event> events(64);
  auto last_expiry = now_ms();
  while (!stopping_) {
    // An idle node's thread sleeps until something happens; only while a
    // token, a connect, a hello or a retired link has a deadline does it
    // look every 250 ms. After a busy round it may poll a while first
    // (plane_spin.hpp).
    int n = spin_.wait(epoll_fd_, events.data(),
                       static_cast<int>(events.size()), quiet_ ? -1 : 250);
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
    if (auto t = now_ms(); !quiet_ && t - last_expiry >= 250) {
      last_expiry = t;
      expire();
    }
  }
}

void data_plane::accept_all() {
  for (;;) {
    sockaddr_storage sa{};
    socklen_t sa_len = sizeof sa;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &sa_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
          || errno == ENOMEM)
        pause_accepting(); // else the listener stays ready: a busy loop
      return;
    }
    bool local = same_host(fd); // before the lock: two system calls
    std::lock_guard<std::mutex> guard{mtx_};
    auto from = address_bytes(sa);
    size_t unproven = 0;
    size_t from_there = 0;
    for (const auto& [id, link] : links_) {
      bool waits = link->direction() == data_link::role::inbound
                   && link->on_request_ == nullptr;
      unproven += waits;
      from_there += waits && link->from_ == from;
    }
    if (unproven >= max_unproven || from_there >= max_unproven_per_address) {
      ::close(fd);
      bool same = from_there >= max_unproven_per_address;
      warn("refused a connection to the data port: "
           + std::to_string(same ? from_there : unproven)
           + " connections" + (same ? " from its address" : "")
           + " have not presented a token yet");
      continue;
    }
    tune_socket(fd);
    auto id = next_id_++;
    auto link = std::make_shared<data_link>(id, fd, data_link::role::inbound,
                                            std::string{}, std::string{},
                                            cfg_.max_frame_bytes,
                                            cfg_.max_pending_bytes, local);
    link->set_epoll(epoll_fd_);
    link->since_ms_ = now_ms();
    link->from_ = std::move(from);
    if (cfg_.tls) {
      std::string note;
      link->ssl_ = cfg_.tls->session(fd, true, note); // before anyone sees it
      if (!note.empty())
        warn(note);
      if (link->ssl_ == nullptr) {
        warn("refused a connection to the data port: no TLS session");
        continue; // the link's destructor closes the socket
      }
    }
    links_[id] = link;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    quiet_ = false; // its hello has a deadline
  }
}

void data_plane::on_event(uint64_t id, uint32_t events) {
  auto link = find(id);
  if (!link)
    return;
  if (link->ssl_ != nullptr && !link->tls_done_) {
    if (!handshake(link))
      return;
    events |= EPOLLIN; // frames may have come with its last flight
  } else if (events & EPOLLOUT) {
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

void data_plane::read_all(const data_link_ptr& link) {
  char buf[64 * 1024];
  for (;;) {
    auto n = link->read_some(buf, sizeof(buf));
    if (n < 0) {
      close_link(link, {}); // the other side closed: nothing to say
      return;
    }
    if (n == 0)
      return;
    spin_.delivered(link->fd_);
    auto& in = link->in_;
    in.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    for (;;) {
      // Before the hello a stranger gets no more than a hello's room.
      bool proven = link->direction() == data_link::role::outbound
                    || link->on_request_ != nullptr;
      size_t bound = proven ? cfg_.max_frame_bytes : max_hello_frame;
      auto step = read_frame(std::string_view{in}.substr(off), bound);
      if (step.what == frame_step::outcome::need_more)
        break;
      if (step.what == frame_step::outcome::too_big) {
        close_link(link, "a frame of " + std::to_string(step.length)
                           + " bytes, over the bound of "
                           + std::to_string(bound));
        return;
      }
      if (!on_frame(link, static_cast<frame_kind>(step.kind), step.body))
        return;
      off += step.consumed;
    }
    in.erase(0, off);
    // Drained: the next epoll round reports more. A TLS session hands out
    // a record at a time (16 KiB at most): it is read until it waits.
    if (link->ssl_ == nullptr && static_cast<size_t>(n) < sizeof(buf))
      return;
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
    spin_.forget(link->fd_);
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
  quiet_ = false;
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
    // Nothing with a deadline left: the thread may sleep until an event.
    bool quiet = tokens_.empty() && accept_paused_until_ == 0;
    for (const auto& [id, link] : links_)
      quiet = quiet && link->open() && link->retire_at_ms_ == 0;
    quiet_ = quiet;
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
