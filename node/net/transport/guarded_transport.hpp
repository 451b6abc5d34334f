#pragma once

// guarded_transport: CAF's TCP transport with bounds, for a node's ports.
//
// CAF 0.17's BASP reads a message by first reading its 32-byte header and
// then allocating the payload length the header announces, up to 4 GiB,
// before anyone is authenticated: 32 bytes from a stranger made a node
// commit 2 GiB. And it buffers without bound what it writes to a peer that
// stopped reading. This multiplexer hands out scribes that close such a
// connection instead, as an I/O failure (the peer is then down for BASP
// and for Mesh, as if its cable had been cut):
// - a message announcing more than `max_message_bytes`;
// - more than `max_backlog_bytes` waiting to be written to one peer;
// - no byte received within `silence` of its start (silent_connections):
//   BASP waits for a handshake forever, so a stranger that connected to
//   the peer or console port and said nothing held a descriptor for good.
// TLS connections get the same bounds from Mesh's own TLS transport
// (tls_transport.hpp), whose scribes are made the same way.
//
// Installed by make_caf_config (node/net/caf_settings.cpp) through
// `load<caf::io::middleman, guarded_multiplexer>()`; the limits come from
// the node's config through guarded_config.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/io/network/default_multiplexer.hpp>

namespace mesh {

struct transport_limits {
  size_t max_message_bytes = 9 * 1024 * 1024;
  size_t max_backlog_bytes = 256 * 1024 * 1024;
};

/// An actor_system_config that carries the transport's limits.
struct guarded_config : caf::actor_system_config {
  transport_limits transport;
};

/// The connections (accepted or dialled) that have not received a byte
/// yet. Shared by the multiplexer, its scribes and whoever sweeps it.
class silent_connections {
public:
  using clock_type = std::chrono::steady_clock;

  /// Shuts down every one silent for `silence` or longer; the event loop
  /// then closes it as any broken connection. Any thread. How many.
  size_t close_older_than(clock_type::duration silence);

  /// A connection's start, and its first byte or its end (by `owner`,
  /// which must call remove() before its socket is closed).
  void add(const void* owner, int fd);
  void remove(const void* owner);

private:
  struct entry {
    const void* owner;
    int fd;
    clock_type::time_point since;
  };
  std::mutex mtx_;
  std::vector<entry> items_;
};

class guarded_multiplexer : public caf::io::network::default_multiplexer {
public:
  explicit guarded_multiplexer(caf::actor_system* sys);

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

  /// What its scribes (and the TLS transport's) are held to.
  const transport_limits& limits() const {
    return limits_;
  }

  /// Its connections that have not received a byte yet (node/net/
  /// silence_sweep.hpp closes the old ones).
  std::shared_ptr<silent_connections> silent() const {
    return silent_;
  }

private:
  transport_limits limits_;
  std::shared_ptr<silent_connections> silent_
    = std::make_shared<silent_connections>();
};

} // namespace mesh
