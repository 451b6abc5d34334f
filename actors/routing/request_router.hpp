#pragma once

// request_router: decides where every request runs, and makes sure each one
// gets exactly one answer.
//
// Serve runs a request on this node only: registry validator (exactly once),
// then the local handler, then its executor, which answers the caller
// directly (the router delegates; it never waits on a handler).
//
// Dispatch runs the pipeline (seed 003): directives (from the request) ->
// policy (matched by path, pipeline/policy.hpp) -> context (trace id,
// caller, deadline) -> rate limit and pre-hooks -> execute -> post-hooks ->
// the explanation attached to the reply (which policy, which hooks, every
// attempt, the peers skipped and why). A dry run stops before execute and
// says who would run the request. Hooks run on this actor's thread; nothing
// in the pipeline waits.
//
// Execute routes. A target equal to this node runs locally; another target
// is forwarded to that member if it is up and shares the namespace. With no
// target: a local handler first; else a peer that shares the namespace and
// serves the method, chosen by the load-balancing policy among up peers
// (suspect ones only when none is up), skipping peers ejected as outliers
// (unless none would be left; an ejected peer whose time is up gets one
// probe). A peer's answer passes through as it is (a handler error on B stays
// handler_error naming B). Retries, only for untargeted requests, within the
// deadline, the policy's max_attempts and its retry budget, after an
// exponential backoff with jitter: for the policy's retry_on statuses when
// the method is idempotent, or whatever the method when nothing ran
// (not_found or unavailable from the peer, a per-try timeout never counts as
// that). A peer that goes down mid-request is replaced when the method is
// idempotent, otherwise the caller gets `unavailable`. With hedging, an
// idempotent request also goes to a second peer after the hedge delay; the
// first answer wins. Every request is answered once.
//
// Attempts at peers travel in batches (router_outbox.cpp): one outbox per
// peer, tagged by (call, attempt); it leaves at once when the mailbox holds
// nothing more, else behind what is queued (a message to ourselves), or at
// a count or byte bound. A peer's ingress that goes away fails its
// attempts as a lost request did (monitored).
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
//   the policy's rate limit reached                -> overloaded
//   a pre-hook said no                             -> the hook's status
//   a pre-hook threw                               -> handler_error naming it
//   a policy naming a hook nobody registered       -> internal naming both
// Every reply carries the trace id (generated here when the caller sent none).
// With a trace ring, each decision is recorded under that id (router_trace.cpp):
// the policy, the route (candidates, the one chosen and why), each retry and
// hedge, the result; on the serving node, the serve and its execution.
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
//   (atom::batch, std::string peer, pb::ServeReplies)  // from the ingress
//        of `peer`: answers to the attempts we batched to it, by tag
//   (data_replies)  // the same, from the data plane (a link we dialled)
//   (data_link_down)  // that link failed: its attempts fail (unavailable)
//   (atom::batch, pb::ServeBatch) -> (pb::ServeReplies, pb::ServeBatch)
//        // from this node's ingress of a peer: the batch's requests with
//        // an inline handler run here at once and are answered by tag
//        // with the refusals; those needing an executor come back as
//        // they were, for the ingress to send one by one
//   (atom::heartbeat, pb::TaskHeartbeat)  // a task's heartbeat, passed on
//                                         // to the peer holding its queue
//   (atom::policies, std::string name) -> nlohmann::json  // "" lists them
//   (atom::reload)              -> nlohmann::json  // policies, from the file
//   (atom::hooks)               -> nlohmann::json  // hooks and counters
//   (atom::breakers)            -> nlohmann::json  // outlier states

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/data/data_messages.hpp"
#include "cluster/transport/data_plane.hpp"
#include "actors/cluster/membership/peer_table.hpp"
#include "actors/routing/registry/registry.hpp"
#include "pipeline/hooks.hpp"
#include "pipeline/policy.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh {

using router_actor = caf::typed_actor<
  caf::replies_to<pb::ServeRequest>::with<pb::ServeResponse>,
  caf::replies_to<pb::DispatchRequest>::with<pb::DispatchResponse>,
  caf::reacts_to<atom::update, handler_table_ptr>,
  caf::reacts_to<atom::update, peer_table_ptr>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::replies_to<atom::stats>::with<nlohmann::json>,
  caf::reacts_to<atom::sweep>, // own timer
  caf::reacts_to<atom::batch>, // own: the outboxes to peers leave
  // Answers to our batches from the ingress of peer `id` (router_outbox.cpp).
  caf::reacts_to<atom::batch, std::string, pb::ServeReplies>,
  // The same from the data plane, and the loss of a link we dialled
  // (actors/cluster/data/data_messages.hpp; local-only types).
  caf::reacts_to<data_replies>,
  caf::reacts_to<data_link_down>,
  // A peer's batch, from its ingress here (router_serve.cpp): the
  // answers of inline handlers and refusals, and the requests that need
  // an executor, untouched, for the ingress to send alone.
  caf::replies_to<atom::batch, pb::ServeBatch>::with<pb::ServeReplies,
                                                     pb::ServeBatch>,
  caf::reacts_to<atom::heartbeat, pb::TaskHeartbeat>,
  caf::replies_to<atom::policies, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::reload>::with<nlohmann::json>,
  caf::replies_to<atom::hooks>::with<nlohmann::json>,
  caf::replies_to<atom::breakers>::with<nlohmann::json>,
  // Whether "ns/Service/Method" may run twice: 1 yes, 0 no, -1 no handler
  // known here or on a peer (the workflow runner asks before a step).
  caf::replies_to<atom::idempotent, std::string>::with<int32_t>>;

/// What the pipeline keeps across router restarts and shares with the
/// node: the policies in force, the hooks, the metrics hook's figures.
struct pipeline_memory {
  /// The policies in force; a reload swaps them (guarded by mtx).
  std::shared_ptr<const policy_set> policies
    = std::make_shared<const policy_set>();
  hook_table_ptr hooks = std::make_shared<hook_table>();
  path_metrics_ptr metrics = std::make_shared<path_metrics>();
  /// Reads the policies again (the config file); empty: nothing to reload.
  /// Returns false with errors ("file: /pointer: message").
  std::function<bool(policy_set&, std::vector<std::string>&)> load;
  /// The benchmark's baseline: no policy, hooks, limits or explanation.
  bool bypass = false;
  std::mutex mtx;

  std::shared_ptr<const policy_set> current() {
    std::lock_guard<std::mutex> guard{mtx};
    return policies;
  }
  void set(std::shared_ptr<const policy_set> p) {
    std::lock_guard<std::mutex> guard{mtx};
    policies = std::move(p);
  }
};

using pipeline_memory_ptr = std::shared_ptr<pipeline_memory>;

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
  /// Policies and hooks (null: defaults, no hooks).
  pipeline_memory_ptr pipeline;
  /// Where the routing decisions go, by trace id (null: not recorded).
  trace_ring_ptr traces;
  /// Links to peers beside BASP (null: batches go by BASP only).
  std::shared_ptr<data_plane> data;
};

router_actor spawn_request_router(caf::actor_system& sys, router_config cfg);

} // namespace mesh
