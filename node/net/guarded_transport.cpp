#include "node/net/guarded_transport.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>

#include <caf/actor_system.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/scribe_impl.hpp>

#include "telemetry/log.hpp"

namespace mesh {

namespace {

std::atomic<size_t> refused_count{0};

// First few, then every 1000th: a flood must not flood the log as well.
bool worth_logging() {
  auto n = refused_count.fetch_add(1) + 1;
  return n <= 3 || n % 1000 == 0;
}

class guarded_scribe : public caf::io::network::scribe_impl {
public:
  guarded_scribe(caf::io::network::default_multiplexer& mx,
                 caf::io::network::native_socket fd, transport_limits limits,
                 std::shared_ptr<silent_connections> silent)
    : scribe_impl(mx, fd), limits_(limits), silent_(std::move(silent)) {
    silent_->add(this, fd);
  }

  // Before the socket is closed (the base class closes it).
  ~guarded_scribe() override {
    if (!heard_)
      silent_->remove(this);
  }

  // BASP reads a header, then (if it announces one) a payload of exactly
  // the announced length. The header is checked here, before BASP sees it
  // and sizes its buffer; every read alternates the same way, so this
  // follows BASP without reaching into it.
  bool consume(caf::execution_unit* ctx, const void* buf,
               size_t num_bytes) override {
    if (!heard_) {
      heard_ = true;
      silent_->remove(this);
    }
    if (awaiting_payload_) {
      awaiting_payload_ = false;
    } else if (num_bytes == caf::io::basp::header_size) {
      auto announced = payload_length(buf);
      if (announced > limits_.max_message_bytes) {
        if (worth_logging())
          log::get("cluster")->warn(
            "closed the connection from {}:{}: it announced a message of {} "
            "bytes, above the transport's limit of {} (2 x "
            "limits.max_payload_bytes + 1 MiB)",
            addr(), port(), announced, limits_.max_message_bytes);
        io_failure(ctx, caf::io::network::operation::read);
        return false;
      }
      awaiting_payload_ = announced > 0;
    }
    return scribe_impl::consume(ctx, buf, num_bytes);
  }

  // A peer that stops reading: what waits for it stays bounded. Shutting
  // the socket down makes the next read fail on the event loop, which
  // closes the connection the way any broken connection closes.
  void flush() override {
    scribe_impl::flush();
    auto& backlog = stream_.wr_buf();
    if (closed_ || backlog.size() <= limits_.max_backlog_bytes)
      return;
    closed_ = true;
    if (worth_logging())
      log::get("cluster")->warn(
        "closed the connection to {}:{}: it stopped reading, and {} bytes "
        "wait for it (limits.max_peer_backlog_bytes is {})",
        addr(), port(), backlog.size(), limits_.max_backlog_bytes);
    backlog.clear();
    backlog.shrink_to_fit();
    ::shutdown(stream_.fd(), SHUT_RDWR);
  }

private:
  // Bytes 4..7 of a BASP header: the payload length, in network order.
  static size_t payload_length(const void* buf) {
    auto* p = static_cast<const unsigned char*>(buf) + 4;
    return (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8)
           | size_t{p[3]};
  }

  transport_limits limits_;
  std::shared_ptr<silent_connections> silent_;
  bool heard_ = false; // a byte came (the event loop's thread only)
  bool awaiting_payload_ = false;
  bool closed_ = false;
};

} // namespace

void silent_connections::add(const void* owner, int fd) {
  std::lock_guard<std::mutex> guard{mtx_};
  items_.push_back({owner, fd, clock_type::now()});
}

void silent_connections::remove(const void* owner) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find_if(items_.begin(), items_.end(),
                        [owner](const entry& e) { return e.owner == owner; });
  if (i != items_.end()) {
    *i = items_.back();
    items_.pop_back();
  }
}

size_t silent_connections::close_older_than(clock_type::duration silence) {
  auto cut = clock_type::now() - silence;
  size_t closed = 0;
  std::lock_guard<std::mutex> guard{mtx_};
  // Each owner removes its entry before its socket is closed, under this
  // lock: every fd listed is still its owner's.
  for (size_t i = 0; i < items_.size();) {
    if (items_[i].since > cut) {
      ++i;
      continue;
    }
    ::shutdown(items_[i].fd, SHUT_RDWR);
    ++closed;
    items_[i] = items_.back();
    items_.pop_back();
  }
  if (closed > 0 && worth_logging())
    log::get("cluster")->warn(
      "closed {} connection(s) that sent nothing within {} ms of their start",
      closed,
      std::chrono::duration_cast<std::chrono::milliseconds>(silence).count());
  return closed;
}

guarded_multiplexer::guarded_multiplexer(caf::actor_system* sys)
  : default_multiplexer(sys) {
  if (auto* cfg = dynamic_cast<const guarded_config*>(&sys->config()))
    limits_ = cfg->transport;
}

caf::io::scribe_ptr
guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  // Every plaintext peer connection (accepted or dialled) without Nagle (TLS
  // connections use CAF's OpenSSL transport, which this does not reach): a lone
  // request or a small batch must not wait for the previous segment's ACK
  // (issue 16). Best effort: a socket that refuses still works.
  static_cast<void>(caf::io::network::tcp_nodelay(fd, true));
  // Launched by its first configure_read, like CAF's own.
  return caf::make_counted<guarded_scribe>(*this, fd, limits_, silent_);
}

} // namespace mesh
