#pragma once

// topic_dispatcher: publish once, fan out to every matching dispatcher in
// the cluster (seed 004).
//
// Routes and dispatchers of this node live in a route_table (topics/). A
// publish is validated (category, topic without wildcards, not reserved),
// matched locally and against what each peer told us of its routes, then
// run: local dispatchers here (functions off CAF's threads, each bounded by
// the dispatcher timeout), and a local-only copy of the message to every
// peer with a matching route, which runs its own. Copies to one peer that
// are ready together travel as one pb::PublishBatch to its ingress, and
// come back as pb::PublishReplies matched by tag (topic_outbox.cpp). Every dispatcher runs once
// per message. The outputs the dispatchers return are published in turn,
// up to `max_output_depth` levels and max_outputs_per_publish topics per
// publish (the rest: a `skipped` part), and everything is aggregated into one
// pb::PublishResponse. A peer that fails or dies during a publish yields a
// publish_failed part, never a hang. Routes reach every peer as
// pb::TopicRoutes whenever they change.
//
// Protocol (topics_actor below):
//   (pb::PublishRequest)                   -> pb::PublishResponse
//   (atom::publish, pb::PublishRequest)    -> pb::PublishResponse  // peers
//   (atom::batch, pb::PublishBatch)        -> (pb::PublishReplies done,
//        pb::PublishBatch rest)  // our ingress for a peer: that peer's
//        publishes, local-only; those that answer at once (record
//        dispatchers, refusals) are in `done` (status and outcomes only),
//        the others come back in `rest` untouched and go one by one
//   (atom::dispatcher, dispatcher_spec)    -> caf::ok_atom
//   (atom::route, topic_route)             -> caf::ok_atom
//   (atom::route, std::string id, bool enabled) -> caf::ok_atom
//   (atom::freeze)                         -> caf::ok_atom
//   (atom::routes)                         -> nlohmann::json  // local + peers
//   (atom::metrics)                        -> nlohmann::json
//   (atom::records, std::string id)        -> nlohmann::json  // record kind
//   (atom::routes, pb::TopicRoutes)        // from peers
//   (atom::update, peer_table_ptr)         // from the connection manager
//   (atom::batch, std::string peer, pb::PublishReplies) // our ingress for
//        `peer`: its answers to our PublishBatch, by tag (issue 16)
//   (atom::flush)                          // own: the peer outboxes leave
//   (atom::drain)                          -> caf::ok_atom  // shutdown: new
//        publishes get publish_failed; answers when running ones are done
// Refusals are `invalid_argument` errors with the reason; after a freeze,
// registration is `permission_denied`.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/peer_table.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/topics/topic_handler.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/trace_ring.hpp"
#include "topics/route_table.hpp"

#include "actors/handlers/job_runner.hpp"

namespace mesh {

/// The most output topics one publish follows (each is a publish of its own).
constexpr size_t max_outputs_per_publish = 64;

using topics_actor = caf::typed_actor<
  caf::replies_to<pb::PublishRequest>::with<pb::PublishResponse>,
  caf::replies_to<atom::publish, pb::PublishRequest>::with<pb::PublishResponse>,
  caf::replies_to<atom::batch, pb::PublishBatch>::with<pb::PublishReplies,
                                                       pb::PublishBatch>,
  caf::replies_to<atom::dispatcher, dispatcher_spec>::with<caf::ok_atom>,
  caf::replies_to<atom::route, topic_route>::with<caf::ok_atom>,
  caf::replies_to<atom::route, std::string, bool>::with<caf::ok_atom>,
  caf::replies_to<atom::drain>::with<caf::ok_atom>,
  caf::replies_to<atom::freeze>::with<caf::ok_atom>,
  caf::replies_to<atom::routes>::with<nlohmann::json>,
  caf::replies_to<atom::metrics>::with<nlohmann::json>,
  caf::replies_to<atom::records, std::string>::with<nlohmann::json>,
  caf::reacts_to<atom::routes, pb::TopicRoutes>,
  caf::reacts_to<atom::update, peer_table_ptr>,
  caf::reacts_to<atom::batch, std::string, pb::PublishReplies>, // ingress
  caf::reacts_to<atom::flush>,                                  // own
  caf::reacts_to<atom::job_done, uint64_t, size_t, nlohmann::json>, // runner
  caf::reacts_to<atom::sweep>>;                                    // own timer

/// What a restarted topic dispatcher starts from: its routes and
/// dispatchers and what peers told it of theirs (metrics and kept records
/// start again).
struct topic_dispatcher_memory {
  bool saved = false;
  std::shared_ptr<route_table> table;
  std::map<std::string, dispatcher_spec, std::less<>> specs;
  std::map<std::string, route_table, std::less<>> remote;
};

struct topic_dispatcher_config {
  std::string node_id;
  actor_slot<router_actor> router; ///< for "forward" dispatchers
  std::chrono::milliseconds dispatcher_timeout{5000};
  uint32_t max_output_depth = 4;
  size_t threads = 4; ///< threads for function dispatchers
  /// Where function dispatchers run (tests drive their own); null: a pool
  /// of `threads` threads.
  job_runner_ptr runner;
  /// Kept across restarts by the supervisor; null: nothing is kept.
  std::shared_ptr<topic_dispatcher_memory> memory;
  /// Where each publish's fan-out goes, by trace id (null: not recorded).
  trace_ring_ptr traces;
};

topics_actor spawn_topic_dispatcher(caf::actor_system& sys,
                                    topic_dispatcher_config cfg);

} // namespace mesh
