#pragma once

// connect_back: the seed's Connect given another node's gRPC address. In
// seed 001 a collector has one address, its gRPC port, and ConnectTo names
// it; a Mesh node joins peers on its peer port. When the peer port does not
// answer there, the door asks the gRPC front door at that address to join
// its node to this one (collector.CollectiveDispatcher/Connect with this
// node's peer address): the two nodes then hold the same connection as if
// this one had dialled, and both route to each other.
//
// The call carries the caller's `authorization` (a cluster shares one
// console token) and `connect_back_key`, so the other door does not try the
// same in turn. TLS: the node's CA (cluster.tls.ca) checks the other door's
// certificate, as the node's peer links do. The address is dialled as a
// host:port only (dns:///), never as another gRPC target (unix:, ...).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "config/node_config.hpp"
#include "protocol/address.hpp"
#include "protocol/grpc/collector.pb.h"

namespace mesh::grpc_door {

/// Metadata of a Connect a door sends back: its receiver does not fall
/// back to connect_back itself.
inline constexpr char connect_back_key[] = "x-mesh-connect-back";

struct connect_back_request {
  /// The call being answered: its cancellation reaches the Connect sent
  /// (a stopping door cancels its calls), and so does its deadline.
  grpc::CallbackServerContext* parent = nullptr;
  host_port door;            ///< the other node's gRPC address
  std::string our_address;   ///< this node's peer address, for it to dial
  std::string our_id;        ///< this node's id (the request's collector_id)
  std::string authorization; ///< the caller's header; empty: none
  std::vector<std::string> namespaces; ///< the caller's, passed on
  std::chrono::milliseconds timeout{5000};
  tls_config tls; ///< not enabled: plaintext
};

/// The other door's status and answer (its status may be OK while the
/// answer says it could not connect).
using connect_back_done
  = std::function<void(const grpc::Status&, collector::ConnectResponse&)>;

/// Sends the Connect; `done` runs once, on a gRPC thread (at once, here,
/// when the TLS CA cannot be read); if it throws, once more with INTERNAL
/// (the caller's call finishes once anyway). Never throws.
void connect_back(connect_back_request req, connect_back_done done) noexcept;

} // namespace mesh::grpc_door
