// The deadlines of a publish: each part's (the dispatcher timeout, or the
// caller's deadline_ms when shorter, which then bounds the outputs too: see
// publish_outputs), the one a peer gets with its part, and the sweep that
// ends the parts whose deadline passed. Every deadline is on the actor's
// clock, so tests move it.

#include <algorithm>
#include <utility>
#include <vector>

#include "actors/topics/topic_dispatcher_state.hpp"

namespace mesh {

bool topic_dispatcher_state::caller_deadline_applies(
  const pb::PublishRequest& req) const {
  return req.deadline_ms() > 0
         && std::chrono::milliseconds{req.deadline_ms()}
              < cfg.dispatcher_timeout;
}

void topic_dispatcher_state::set_deadlines(publish_run& run) {
  auto now = self->clock().now();
  run.budget = cfg.dispatcher_timeout;
  if (caller_deadline_applies(*run.req)) {
    run.budget = std::chrono::milliseconds{run.req->deadline_ms()};
    run.until = now + run.budget;
  }
  // A peer bounds its own dispatchers; the margin covers the network,
  // but not past the caller's deadline (the peer has it too).
  using std::chrono::seconds;
  auto margin = run.until == run.until.max() ? seconds{1} : seconds{0};
  for (size_t k = 0; k < run.slots.size(); ++k)
    run.slots[k].deadline = now + run.budget
                            + (k < run.local_slots ? seconds{0} : margin);
}

void topic_dispatcher_state::for_peer(pb::PublishRequest& copy) const {
  copy.set_local_only(true); // the peer runs its own dispatchers only
  // Within the caller's deadline the peer ends its parts a little earlier
  // (a tenth, at most 100 ms): its answer, with each dispatcher's outcome,
  // arrives before this node gives up on the part.
  if (caller_deadline_applies(copy)) {
    auto asked = copy.deadline_ms();
    copy.set_deadline_ms(std::max(1u, asked - std::min(asked / 10, 100u)));
  }
}

void topic_dispatcher_state::arm_sweep(caf::actor_clock::time_point when) {
  sweeps.arm(self, when, self->clock().now());
}

void topic_dispatcher_state::sweep() {
  sweeps.fired();
  auto now = self->clock().now();
  auto next = caf::actor_clock::time_point::max();
  std::vector<std::pair<uint64_t, size_t>> overdue;
  for (const auto& [seq, run] : runs)
    for (size_t slot = 0; slot < run.slots.size(); ++slot) {
      const auto& s = run.slots[slot];
      if (s.done)
        continue;
      if (s.deadline <= now)
        overdue.emplace_back(seq, slot);
      else
        next = std::min(next, s.deadline);
    }
  for (auto [seq, slot] : overdue) {
    auto& run = runs[seq];
    pb::DispatcherOutcome o;
    if (slot < run.local_slots) {
      // A late answer is discarded (part_done ignores finished slots).
      o.set_status("timeout");
      o.set_error("no answer within " + std::to_string(run.budget.count())
                  + " ms");
      part_done(seq, slot, std::move(o));
    } else {
      auto node = run.slots[slot].peer;
      o.set_node_id(node);
      o.set_status("timeout");
      o.set_error("node " + node + " did not answer in time");
      part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(o)});
    }
  }
  if (next != caf::actor_clock::time_point::max())
    arm_sweep(next);
}

} // namespace mesh
