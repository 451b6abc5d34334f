#pragma once

// A blocking client of a node's console over CAF: what meshbench and
// programs that send binary requests use to talk to a running node (meshctl
// uses the HTTP API instead). Owns a small CAF actor system of its own.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

namespace mesh {

class console_client {
public:
  ~console_client();

  /// Connects to the console at "host:port". Unreachable or not a Mesh
  /// console: an `unavailable` error saying so. CAF offers no bound on the
  /// TCP connect itself: callers that must not hang add a watchdog.
  static caf::expected<std::unique_ptr<console_client>>
  connect(const std::string& address);

  /// Like connect(address), with `configure` applied to the client's CAF
  /// settings first (scheduler policy and threads, for a load generator).
  static caf::expected<std::unique_ptr<console_client>>
  connect(const std::string& address,
          const std::function<void(caf::actor_system_config&)>& configure);

  /// The console token every later call carries (empty: none).
  void set_token(std::string token);

  /// Sends one command and waits for the reply (at most `timeout`). A node
  /// that closes the connection first is an `unavailable` error at once.
  caf::expected<nlohmann::json> call(const nlohmann::json& command,
                                     std::chrono::milliseconds timeout);

  /// The node's client ingress (a client_actor, protocol/messaging/peer_actors.hpp),
  /// for sending pb::DispatchRequest directly (binary, no JSON): what a
  /// client program outside the mesh uses. Many requests at once go faster
  /// as one (atom::batch, pb::DispatchBatch) (bench/client_driver.cpp).
  caf::expected<caf::actor> router(std::chrono::milliseconds timeout);

  /// The actor system this client runs (to spawn actors that talk to the
  /// node, e.g. a load generator).
  caf::actor_system& system();

private:
  struct impl;
  explicit console_client(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
  std::string address_;
  std::string token_;
};

} // namespace mesh
