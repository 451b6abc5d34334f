#pragma once

// process_gate: the strategy evaluator's handle (strategies_actor). Process
// dispatch used to queue every request behind one evaluator actor and pay
// two more hops (caller -> evaluator -> router -> evaluator -> caller). The
// gate is an actor without a mailbox of its own, like CAF's actor_pool:
//   - (pb::ProcessRequest) is decided in the thread of the actor that sends
//     it (process_core::decide) and goes on to the router at once, asked by
//     the gate; the router's answer is turned into the pb::ProcessResponse
//     in the thread that delivers it and goes straight to the caller. So a
//     process dispatch takes the hops of a plain one, and callers on
//     different threads decide in parallel (the shared state is locked for
//     the lookup and the decision only).
//   - (atom::outcome, pb::OutcomeReport) is counted the same way, so an
//     outcome is seen by the next decision of whoever reported it.
//   - everything else goes, sender and request id unchanged, to the
//     evaluator actor behind it (manifests, reload, stats, peers, evidence,
//     drain), which answers the sender itself.
// An exit message (the supervisor, the node's shutdown) ends both; the
// evaluator's death ends the gate with the same reason. Calls still with
// the router then are answered `unavailable` ("the strategy evaluator of
// node X stopped before answering"), as a guarded promise did.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/processes/process_core.hpp"

namespace mesh {

/// Spawns the gate in front of `evaluator` (which it monitors and ends).
caf::actor spawn_process_gate(caf::actor_system& sys, process_core_ptr core,
                              caf::actor evaluator);

} // namespace mesh
