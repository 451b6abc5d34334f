#pragma once

// guarded_scribe: the bounds of guarded_transport.hpp around a CAF scribe,
// for both transports: Base is CAF's plaintext scribe_impl or Mesh's TLS
// scribe (tls_transport.cpp); each keeps its stream in `stream_`.
// Internal to node/net.

#include <sys/socket.h>

#include <memory>
#include <utility>

#include <caf/io/basp/header.hpp>
#include <caf/io/network/native_socket.hpp>

#include "node/net/transport/guarded_transport.hpp"
#include "telemetry/log.hpp"

namespace mesh {

/// First few, then every 1000th refusal: a flood must not flood the log.
bool transport_refusal_worth_logging();

template <class Base>
class guarded_scribe : public Base {
public:
  template <class... Ts>
  guarded_scribe(caf::io::network::default_multiplexer& mx,
                 caf::io::network::native_socket fd, transport_limits limits,
                 std::shared_ptr<silent_connections> silent, Ts&&... xs)
    : Base(mx, fd, std::forward<Ts>(xs)...),
      limits_(limits),
      silent_(std::move(silent)) {
    // Every peer connection (accepted or dialled) without Nagle: a lone
    // request or a small batch must not wait for the previous segment's
    // ACK (issue 16). Best effort: a socket that refuses still works.
    static_cast<void>(caf::io::network::tcp_nodelay(fd, true));
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
  // follows BASP without reaching into it. Over TLS this sees the bytes
  // once decrypted: a connection is heard once its handshake is done.
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
        if (transport_refusal_worth_logging())
          log::get("cluster")->warn(
            "closed the connection from {}:{}: it announced a message of {} "
            "bytes, above the transport's limit of {} (2 x "
            "limits.max_payload_bytes + 1 MiB)",
            this->addr(), this->port(), announced, limits_.max_message_bytes);
        this->io_failure(ctx, caf::io::network::operation::read);
        return false;
      }
      awaiting_payload_ = announced > 0;
    }
    return Base::consume(ctx, buf, num_bytes);
  }

  // A peer that stops reading: what waits for it stays bounded. Shutting
  // the socket down makes the next read fail on the event loop, which
  // closes the connection the way any broken connection closes.
  void flush() override {
    Base::flush();
    auto& backlog = this->stream_.wr_buf();
    if (closed_ || backlog.size() <= limits_.max_backlog_bytes)
      return;
    closed_ = true;
    if (transport_refusal_worth_logging())
      log::get("cluster")->warn(
        "closed the connection to {}:{}: it stopped reading, and {} bytes "
        "wait for it (limits.max_peer_backlog_bytes is {})",
        this->addr(), this->port(), backlog.size(), limits_.max_backlog_bytes);
    backlog.clear();
    backlog.shrink_to_fit();
    ::shutdown(this->stream_.fd(), SHUT_RDWR);
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

} // namespace mesh
