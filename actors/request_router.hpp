#pragma once

// request_router: decides where every request runs, and makes sure each one
// gets exactly one answer.
//
// Serve runs a request on this node only: registry validator (exactly once),
// then the local handler, then its executor, which answers the caller
// directly (the router delegates; it never waits on a handler). Dispatch
// routes: a target equal to this node runs locally; with no target, a local
// handler runs locally. Anything else needs the cluster (see the cluster
// issue) and is answered `unavailable` naming the target, or `not_found`
// naming the namespace or method.
//
// Errors, exactly:
//   missing/malformed namespace, service or method -> invalid_argument naming it
//   payload over the limit                         -> invalid_argument
//   namespace not served                           -> not_found naming it
//   method not registered                          -> not_found naming it
//   rejected by the registry validator             -> not_found "not registered"
//   unknown target node                            -> unavailable naming it
//   node shutting down                             -> unavailable
// Every reply carries the trace id (generated here when the caller sent none).
//
// Protocol (dynamically typed actor):
//   (pb::ServeRequest)          -> pb::ServeResponse
//   (pb::DispatchRequest)       -> pb::DispatchResponse
//   (atom::update, handler_table_ptr)   // from the registry
//   (atom::drain)               -> caf::ok_atom  // refuse new requests from
//                                                // now on; answer when idle
//   (atom::stats)               -> nlohmann::json

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace mesh {

struct router_config {
  std::string node_id;
  size_t max_payload_bytes = 4 * 1024 * 1024;
  uint32_t max_hops = 4;
  /// The registry to subscribe to (may be null in tests that feed tables).
  caf::actor registry;
};

caf::actor spawn_request_router(caf::actor_system& sys, router_config cfg);

} // namespace mesh
