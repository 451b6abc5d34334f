#pragma once

#include <optional>
#include <string_view>

namespace mesh {

/// The life of a peer, as one node sees it (Akka Cluster's vocabulary):
/// - joining: handshake in progress;
/// - up: connected, heartbeats arriving, routable;
/// - suspect: heartbeats late (half the miss threshold), still routable but
///   chosen only when no peer is up;
/// - down: the connection died or heartbeats stopped for interval x misses;
///   not routable; the side that dialled re-dials with backoff;
/// - left: the peer said goodbye; not routable, not re-dialled.
enum class peer_state : uint8_t { joining, up, suspect, down, left };

const char* to_string(peer_state x) noexcept;

std::optional<peer_state> peer_state_from_string(std::string_view name);

/// Up and suspect peers can take requests.
constexpr bool is_routable(peer_state x) noexcept {
  return x == peer_state::up || x == peer_state::suspect;
}

} // namespace mesh
