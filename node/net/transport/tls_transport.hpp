#pragma once

// tls_transport: how a node speaks mutual TLS to its peers.
//
// CAF's OpenSSL module makes its own scribes, which the guarded
// multiplexer (guarded_transport.hpp) never sees: a stranger that opened a
// connection to a TLS node's peer port and said nothing, or began a
// handshake and stopped, held a descriptor for good, and members'
// connections ran with Nagle on. This is CAF's middleman actor with TLS
// scribes of Mesh's own, held to the same bounds as plaintext ones: a
// connection that has not finished its handshake and sent a BASP byte
// within 10 s is closed by the node's sweep (silence_sweep.hpp); an
// announced message or a backlog over the limits closes it too.
//
// Sessions (certificates, CA, verification) come from CAF's OpenSSL module
// (caf::openssl::make_session with the system's openssl_* settings), which
// must be loaded, as must guarded_multiplexer.

#include <cstdint>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>

namespace mesh {

/// Spawns the TLS transport (detached, hidden). Answers what CAF's
/// middleman actor answers (publish, connect, ...); dial through it with
/// `connect_atom`. Null if the system's multiplexer is not guarded.
caf::io::middleman_actor spawn_tls_transport(caf::actor_system& sys);

/// Publishes `whom` on host:port (port 0: any) through `transport`, as
/// caf::io::publish does through the middleman. The port bound.
caf::expected<uint16_t> publish_tls(caf::actor_system& sys,
                                    const caf::io::middleman_actor& transport,
                                    const caf::actor& whom, uint16_t port,
                                    const char* host, bool reuse);

/// Ends it and waits until it has (before its system ends: it runs in a
/// thread of its own).
void stop_tls_transport(caf::actor_system& sys,
                        caf::io::middleman_actor& transport);

} // namespace mesh
