#pragma once

// How the node's actors use the data plane (cluster/transport/data_plane.hpp):
// what its thread does with the frames it reads (parse them, hand them to
// the router or a peer's ingress as local-only messages), and the two halves
// of the handshake that set up a link (issue 16).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/actor_slot.hpp"
#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/routing/request_router.hpp"
#include "cluster/transport/data_plane.hpp"
#include "config/node_config.hpp"
#include "protocol/address.hpp"

namespace mesh {

/// The node's data plane as the config sets it, not started; null when
/// cluster.data_plane is off. With cluster.tls its links are TLS streams
/// with the node's certificates (when OpenSSL cannot make that context,
/// said in the log: null, and everything goes by BASP).
std::shared_ptr<data_plane> make_data_plane(const node_config& cfg);

/// Starts `plane` with handlers that hand replies and lost links to the
/// current router (warnings in the "data_plane" log); the reason when it
/// cannot listen, empty when it listens.
std::string start_data_plane(data_plane& plane, actor_slot<router_actor> router);

/// A job on the plane's thread that runs this long is a stall: every link
/// waited (logged and counted).
inline constexpr std::chrono::milliseconds data_plane_stall{100};

/// Stalls of this process's data-plane threads so far.
uint64_t data_plane_stalls() noexcept;

/// `plane`'s address on the host of `listen` ("host:port"); empty when
/// there is no plane or it does not listen.
std::string data_plane_address(const data_plane* plane, const host_port& listen);

/// A token for the peer whose ingress is `ingress`: the link that presents
/// it hands its batches to that ingress.
std::string offer_data_link(data_plane& plane, const peer_ingress_actor& ingress);

/// Dials the data port the peer at `address` ("host:port" of its peer
/// listener, or a bare host) announced in its handshake. Nothing when it
/// announced none (port 0), or the host is a wildcard no one can dial.
void dial_data_link(data_plane& plane, const std::string& peer,
                    const std::string& incarnation, const std::string& address,
                    uint32_t port, const std::string& token);

} // namespace mesh
