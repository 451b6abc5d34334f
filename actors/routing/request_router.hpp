#pragma once

// request_router: decides where every request runs, and makes sure each one
// gets exactly one answer.
//
// Serve runs a request on this node only: registry validator (exactly once),
// then the local handler, then its executor, which answers the caller
// directly (the router delegates; it never waits on a handler).
//
// Dispatch routes. A target equal to this node runs locally; another target
// is forwarded to that member if it is up and shares the namespace. With no
// target: a local handler first; else a peer that shares the namespace and
// serves the method, chosen by the load-balancing policy among up peers
// (suspect ones only when none is up). A peer's answer passes through as it
// is (a handler error on B stays handler_error naming B). Retries, only while
// the deadline allows and only for untargeted requests: a peer that answers
// unavailable or not_found (nothing ran there) is replaced by another; a
// peer that goes down mid-request is replaced when the method is idempotent,
// otherwise the caller gets `unavailable`. Every request is answered once.
//
// Errors, exactly:
//   missing/malformed namespace, service or method -> invalid_argument naming it
//   payload over the limit                         -> invalid_argument
//   namespace not served here nor by any peer      -> not_found naming it
//   method not registered                          -> not_found naming it
//   rejected by the registry validator             -> not_found "not registered"
//   unknown or down target node                    -> unavailable naming it
//   target that does not share the namespace       -> not_found saying so
//   more hops than max_hops                        -> unavailable
//   node shutting down                             -> unavailable
// Every reply carries the trace id (generated here when the caller sent none).
//
// Protocol (router_actor below):
//   (pb::ServeRequest)          -> pb::ServeResponse
//   (pb::DispatchRequest)       -> pb::DispatchResponse
//   (atom::update, handler_table_ptr)   // from the registry
//   (atom::update, peer_table_ptr)      // from the connection manager
//   (atom::drain)               -> caf::ok_atom  // refuse new requests from
//                                                // now on; answer when no
//                                                // forwarded call is pending
//   (atom::stats)               -> nlohmann::json  // counters, in-flight
//   (atom::heartbeat, pb::TaskHeartbeat)  // a task's heartbeat, passed on
//                                         // to the peer holding its queue

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/peer_table.hpp"
#include "actors/routing/registry.hpp"

namespace mesh {

using router_actor = caf::typed_actor<
  caf::replies_to<pb::ServeRequest>::with<pb::ServeResponse>,
  caf::replies_to<pb::DispatchRequest>::with<pb::DispatchResponse>,
  caf::reacts_to<atom::update, handler_table_ptr>,
  caf::reacts_to<atom::update, peer_table_ptr>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  caf::reacts_to<atom::sweep>, // own timer
  caf::reacts_to<atom::heartbeat, pb::TaskHeartbeat>>;

struct router_config {
  std::string node_id;
  size_t max_payload_bytes = 4 * 1024 * 1024;
  uint32_t max_hops = 4;
  std::chrono::milliseconds default_deadline{5000};
  std::chrono::milliseconds max_deadline{60000};
  /// "round_robin", "least_in_flight" or "random" (cluster/load_balancer.hpp).
  std::string load_balancing = "round_robin";
  /// The registry to subscribe to (may be null in tests that feed tables).
  actor_slot<registry_actor> registry;
};

router_actor spawn_request_router(caf::actor_system& sys, router_config cfg);

} // namespace mesh
