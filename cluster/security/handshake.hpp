#pragma once

// The checks of the Connect handshake that need no actors: the proof of the
// cluster secret, protocol compatibility, and the connection id both sides
// derive without talking about it.

#include <cstdint>
#include <string>
#include <string_view>

namespace mesh {

/// The protocol this build speaks. Peers must speak the same version: one
/// of another is refused at the handshake, so no node sends a message its
/// peer cannot read (4: Serve batches, 5: publish batches; issue 16) or
/// expects what it will not get (6: the heartbeat ring: a node of 5 would
/// take the peers that no longer beat it for down).
inline constexpr uint32_t protocol_version = 6;

/// Why a version is incompatible, or an empty string.
std::string check_protocol_version(uint32_t theirs);

/// HMAC-SHA256 over the handshake fields, keyed by the cluster secret: proves
/// knowledge of the secret without sending it. `role` tells the two
/// directions apart ("hello" for the dialler, "welcome" for the acceptor),
/// and the dialler's random `nonce` makes each proof unique to its handshake.
/// An empty secret gives an empty proof.
std::string make_secret_proof(std::string_view secret, std::string_view role,
                              std::string_view node_id,
                              std::string_view incarnation,
                              std::string_view nonce);

/// Checks a peer's proof against our secret: an empty string when it is
/// valid, or why not (no secret on one side, or a mismatch).
std::string check_secret_proof(std::string_view secret, std::string_view proof,
                               std::string_view role, std::string_view node_id,
                               std::string_view incarnation,
                               std::string_view nonce);

/// The id of the connection between two node incarnations: the same on both
/// sides, whoever dialled, so two connections between one pair collapse
/// into one. A restart (new incarnation) gives a new id.
std::string make_connection_id(std::string_view id_a, std::string_view inc_a,
                               std::string_view id_b, std::string_view inc_b);

/// 16 random bytes as 32 hex digits (incarnations, nonces).
std::string random_hex_token();

} // namespace mesh
