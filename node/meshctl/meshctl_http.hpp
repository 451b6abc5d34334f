#pragma once

// meshctl's transport: one console command as one HTTP request to the
// node's HTTP API (`POST /v1/<cmd>`, the arguments as the JSON body, the
// console token as a bearer token), and whatever happens turned into the
// one envelope {"ok", "status", "code", "result" | "error"} plus meshctl's
// exit code. No actor system: meshctl is a plain HTTP client.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/json/envelope.hpp"

namespace mesh::meshctl {

/// Where the node's HTTP API listens.
struct node_address {
  std::string host;
  int port = 0;
  std::string text; ///< as the user wrote it, for messages
};

/// Parses "HOST:PORT", "[IPv6]:PORT" or "http://HOST:PORT" (a trailing "/"
/// allowed); nullopt for anything else (meshctl then exits 2, usage).
std::optional<node_address> parse_node_address(const std::string& text);

/// The answer to one command.
struct call_outcome {
  nlohmann::json envelope; ///< the node's, or one meshctl made up
  int exit_code = 0;       ///< see exit_code in meshctl_options.hpp
};

/// Sends `command` ({"cmd": NAME, ...arguments}) and waits at most
/// `timeout` to connect and `timeout` for the answer. The node's envelope
/// gives exit 0 (ok), 1 (not ok) or 4 (unauthenticated). Without one,
/// meshctl writes the envelope itself: status "unavailable" and exit 3 when
/// nothing (or no HTTP, e.g. the node's peer port) answers at `node`;
/// status "deadline_exceeded" and exit 5 when the node took longer than
/// `timeout`.
call_outcome call_node(const node_address& node, const std::string& token,
                       const nlohmann::json& command,
                       std::chrono::milliseconds timeout);

// The envelope meshctl writes when the node could not answer is
// protocol/json/envelope.hpp's envelope_error, as the node's own.

} // namespace mesh::meshctl
