#pragma once

// The node's two ports and what listens on them: the gate on the peer port
// (plain or TLS) and the console on the console port. Published at start
// and again, on the same port, when the supervisor restarts either actor.
// Also what the console is started with, and the gRPC door's start.

#include <cstdint>

#include <caf/expected.hpp>

#include "actors/node_supervisor.hpp"
#include "node/node_impl.hpp"

namespace mesh {

struct node_ports {
  /// Publishes the current gate on `port` (0: any); the port it got.
  static caf::expected<uint16_t> publish_gate(node::impl& st, uint16_t port);

  /// Publishes the current console on `port` (0: any); the port it got.
  static caf::expected<uint16_t> publish_console(node::impl& st,
                                                 uint16_t port);

  /// The gate and the console as the supervisor's children: a successor is
  /// spawned and published on the port its predecessor held. `st` outlives
  /// the supervisor.
  static supervised_child gate_child(node::impl& st);
  static supervised_child console_child(node::impl& st);

  /// The console's configuration: the node's actors, its token, leave and
  /// fault injection (MESH_TEST_INJECT_FAILURES=1); `console` is left for
  /// the caller. `supervisor` is filled once the supervisor runs.
  static console_config console_config_of(node::impl& st,
                                          actor_slot<supervisor_actor> supervisor);

  /// Starts the gRPC door on cfg.grpc (st.grpc_entry, opened by then),
  /// calling the node's actors: none of them may be missing.
  static caf::error start_grpc(node::impl& st);
};

} // namespace mesh
