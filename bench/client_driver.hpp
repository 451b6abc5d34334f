#pragma once

// The `client` scenario's load generator: a client outside the mesh that
// keeps `in_flight` dispatches outstanding at node A's client ingress, in
// batches (client_actor's (atom::batch, pb::DispatchBatch)). Everything the
// driver has ready when it runs goes in one batch: at the start, all of
// them; later, each answer readies the next request, and the driver sends
// itself a flush message on the first one, so the answers already in its
// mailbox ready theirs first. A lone request is never held back.

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"
#include "bench/load_driver.hpp"
#include "protocol/messaging/peer_actors.hpp"

namespace mesh::bench {

/// Runs the closed loop against `ingress` (a client_actor) with copies of
/// `proto` and blocks until it ends; tags are the driver's own. A request
/// answered with a non-zero status counts as failed. If the ingress goes
/// down, every outstanding request counts as failed and the loop ends.
load_result run_batched_loop(caf::actor_system& sys, caf::actor ingress,
                             const load_spec& spec, pb::DispatchRequest proto);

/// The `client` scenario: this process -> A's client ingress (batched) ->
/// A's router -> echo handler on B.
caf::expected<nlohmann::json> outside_client(bench_env& env, size_t in_flight);

} // namespace mesh::bench
