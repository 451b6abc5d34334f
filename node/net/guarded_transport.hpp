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
// - more than `max_backlog_bytes` waiting to be written to one peer.
// TLS connections use CAF's OpenSSL transport, which this does not cover:
// there only holders of a certificate of the cluster's CA get that far.
//
// Installed by make_caf_config (node/net/caf_settings.cpp) through
// `load<caf::io::middleman, guarded_multiplexer>()`; the limits come from
// the node's config through guarded_config.

#include <cstddef>

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

class guarded_multiplexer : public caf::io::network::default_multiplexer {
public:
  explicit guarded_multiplexer(caf::actor_system* sys);

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

private:
  transport_limits limits_;
};

} // namespace mesh
