#pragma once

// grpc_front_door: the node's optional gRPC listener (issue 17), serving
//   collector.CollectiveDispatcher  the seed's service, wire-compatible
//                                   (protocol/grpc/collector.proto)
//   mesh.v1.Mesh                    Mesh's own API (protocol/grpc/mesh_service.proto)
//   grpc.health.v1.Health           gRPC's standard health check, its own
//                                   implementation (protocol/grpc/health.proto
//                                   for clients): "" and both services
//                                   SERVING until set_draining(); no token
//                                   asked (as /readyz)
//   grpc.reflection.v1(alpha).ServerReflection  for grpcurl and the like
//                                   (reflection_service.cpp): the token
//                                   asked, the door's own files only
// on gRPC's own threads (the callback API); each call is answered by the
// node's actors (grpc/call_support.hpp), through the router's pipeline like
// any other request.
//
// Security and limits: the console token as `authorization: Bearer <token>`
// metadata (checked on the call's headers, before anything runs and before
// its message is read: UNAUTHENTICATED; grpc/door_credentials.hpp; not
// for the health service); TLS with the
// node's certificate and key (cluster.tls) when the node has them, clients
// verify the server against the cluster CA; a message larger than
// limits.max_payload_bytes (plus 64 KiB for the envelope) is refused by
// gRPC with RESOURCE_EXHAUSTED before it is read.
//
// Connections (grpc.keepalive): the door pings one idle for time_ms and
// closes it when the ping goes unanswered for timeout_ms (a client that
// vanished without a FIN); clients may ping every min_client_ping_ms, with
// calls in flight or none (gRPC's own policy sends away one that pings an
// idle connection more often than every 5 minutes). A new connection has
// 10 s for its TLS handshake and HTTP/2 preface; a stream's window stays
// 64 KiB until its message is asked for (gRPC's bandwidth probe is off).
// A connection with no call for max_idle_ms is sent away (GOAWAY). What
// gRPC holds is budgeted (grpc.memory_mb, gRPC's resource quota): past it
// idle connections are sent away and new calls refused until it frees.
//
//   grpc_front_door door{cfg};
//   if (auto err = door.start()) ...;  // bound: door.address() has the port
//   door.set_draining();               // health: NOT_SERVING from now on
//   door.stop();                       // before the actor system ends
//
// stop() waits for the calls in flight: each is answered by an actor, so it
// must run while the actor system is up. Start and stop from one thread.

#include <cstddef>
#include <memory>

#include <caf/error.hpp>

#include "config/node_config.hpp"
#include "grpc/door_entry.hpp"
#include "grpc/node_handles.hpp"
#include "protocol/address.hpp"

namespace mesh {

struct grpc_front_door_config {
  host_port address;                          ///< port 0: any
  size_t max_payload_bytes = 4 * 1024 * 1024; ///< limits.max_payload_bytes
  tls_config tls;                             ///< not enabled: plaintext
  grpc_keepalive_config keepalive;            ///< grpc.keepalive
  size_t memory_bytes = size_t{256} << 20;    ///< grpc.memory_mb
  grpc_door::node_handles node;
};

class grpc_front_door final : public front_door {
public:
  explicit grpc_front_door(grpc_front_door_config cfg);

  /// Stops the server if it still runs.
  ~grpc_front_door() override;

  grpc_front_door(const grpc_front_door&) = delete;
  grpc_front_door& operator=(const grpc_front_door&) = delete;

  /// Binds the configured address and starts answering. An address that
  /// cannot be bound, or TLS files that cannot be read, are an
  /// `unavailable` error naming them; nothing is left running.
  caf::error start() override;

  /// The bound address, with the real port once started.
  const host_port& address() const override;

  /// The health service says NOT_SERVING for every name from now on (the
  /// node is shutting down: load balancers stop sending); calls are still
  /// answered until stop(). Idempotent; stop() does it too.
  void set_draining() override;

  /// Refuses new calls and waits for those in flight. Idempotent.
  void stop() override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mesh
