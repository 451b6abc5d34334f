#pragma once

// strategy_evaluator: process dispatch (seed 000).
//
// A caller names a business process; its manifest's input_schema checks the
// input (every violation is reported, and nothing runs), its strategy picks
// a variant, the decision is logged with the trace id, and the variant's
// handler is dispatched through the router, so it runs wherever it lives in
// the cluster. The bandit's evidence (outcomes reported per variant) is
// merged with every peer's as grow-only per-node counters and persisted in
// the node's data directory, so it converges across the cluster and
// survives restarts.
//
// The handle is a process gate (process_gate.hpp): process requests and
// outcomes are handled in the caller's thread (no queue behind one actor,
// no extra hops), everything else by the evaluator actor behind it; both
// share process_core.hpp.
//
// Protocol (strategies_actor below):
//   (pb::ProcessRequest)                  -> pb::ProcessResponse
//        invalid_argument: no trace id, user_context not an object,
//        input_args violating the input_schema, a missing bucketing key;
//        not_found: unknown process; else the variant's own answer
//   (atom::outcome, pb::OutcomeReport)    -> caf::ok_atom
//        not_found: unknown process or variant
//   (atom::manifests)                     -> nlohmann::json  // the list
//   (atom::manifests, std::string name)   -> nlohmann::json  // one, in full
//   (atom::reload)                        -> nlohmann::json  // what changed
//   (atom::stats, std::string process)    -> nlohmann::json  // traffic, bandit
//   (atom::update, peer_table_ptr)        // from the connection manager
//   (atom::evidence, pb::BanditEvidence)  // from peers' evaluators
//   (atom::drain)                         -> caf::ok_atom  // evidence saved
//   own timer: (atom::flush)

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_slot.hpp"
#include "actors/cluster/membership/peer_table.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/trace_ring.hpp"

namespace mesh {

using strategies_actor = caf::typed_actor<
  caf::replies_to<pb::ProcessRequest>::with<pb::ProcessResponse>,
  caf::replies_to<atom::outcome, pb::OutcomeReport>::with<caf::ok_atom>,
  caf::replies_to<atom::manifests>::with<nlohmann::json>,
  caf::replies_to<atom::manifests, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::reload>::with<nlohmann::json>,
  caf::replies_to<atom::stats, std::string>::with<nlohmann::json>,
  caf::reacts_to<atom::update, peer_table_ptr>,
  caf::reacts_to<atom::evidence, pb::BanditEvidence>,
  caf::reacts_to<atom::flush>, // own timer
  caf::replies_to<atom::drain>::with<caf::ok_atom>>;

struct strategy_evaluator_config {
  std::string node_id;
  std::string manifests_dir; ///< empty: no manifests
  std::string data_dir;      ///< evidence file lives here; empty: not kept
  /// false: the node id lasts as long as the process (listen port 0, no
  /// id): the file serves a restarted evaluator only and goes at drain.
  bool keep_evidence = true;
  actor_slot<router_actor> router; ///< the supervisor may restart it
  caf::actor cluster;        ///< connection manager (may be null)
  std::chrono::milliseconds deadline{5000}; ///< when the caller sets none
  /// How long new evidence waits before it is saved and sent to peers.
  std::chrono::milliseconds flush_delay{100};
  uint64_t seed = 0; ///< 0: random (tests fix it)
  /// Where each decision goes, by trace id (null: not recorded).
  trace_ring_ptr traces;
};

strategies_actor spawn_strategy_evaluator(caf::actor_system& sys,
                                          strategy_evaluator_config cfg);

} // namespace mesh
