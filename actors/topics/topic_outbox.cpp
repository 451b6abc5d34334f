// The topic dispatcher's batches to peers (issue 16): a peer's part of a
// publish joins that peer's outbox, tagged with the publish's seq and the
// part's slot; the outbox leaves as one (atom::batch, pb::PublishBatch) to
// the peer's ingress. CAF spends most of a remote message's cost per
// message, not per byte, so parts that are ready together travel together.
// A lone part is never held back: when the mailbox holds nothing more, the
// outbox leaves at once; otherwise a message to ourselves, queued behind
// everything already there, sends it. The peer's ingress answers with
// PublishReplies (through our ingress for that peer), matched here by tag.
//
// Exactly one answer per part stays publish_run's job (part_done ignores a
// finished slot): a tag only names (seq, slot), so a late answer, one for
// a publish already finished or one from another peer than the slot's is
// ignored. A peer that goes down with a batch out fails its parts through
// fail_parts_of_lost_peers, and deadlines (sweep) bound the rest.
//
// A peer's batch arrives the same way (serve_batch): what runs at once here
// is answered in one message to our ingress for that peer, which sends the
// answers on as one PublishReplies; parts that wait on a dispatcher go back
// to the ingress and come again one by one.

#include <algorithm>
#include <atomic>

#include <caf/event_based_actor.hpp>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/topics/topic_dispatcher_state.hpp"

namespace mesh {

uint64_t next_publish_seq() {
  static std::atomic<uint64_t> seq{0};
  return seq.fetch_add(1, std::memory_order_relaxed) + 1;
}

void topic_dispatcher_state::enqueue(const peer_route& peer, uint64_t seq,
                                     size_t slot,
                                     const pb::PublishRequest& req) {
  auto& box = outboxes[peer.id];
  auto to = caf::actor_cast<caf::actor>(peer.peer);
  if (box.to != to) {
    flush(box); // the peer's ingress changed (a new connection)
    box.to = std::move(to);
  }
  auto size = req.ByteSizeLong() + 16;
  // One transport message stays within its bound: a large publish leaves
  // what waits first, then travels alone.
  if (box.batch.tags_size() > 0 && box.bytes + size > batch_max_bytes)
    flush(box);
  auto* copy = box.batch.add_requests();
  *copy = req;
  for_peer(*copy);
  box.batch.add_tags((seq << publish_tag_slot_bits) | slot);
  box.bytes += size;
  if (box.batch.tags_size() >= batch_max_count || self->mailbox().empty()) {
    flush(box); // full, or nothing else to batch with
  } else if (!flush_pending) {
    flush_pending = true;
    self->send(self, atom::flush_v);
  }
}

void topic_dispatcher_state::flush(publish_outbox& box) {
  if (box.batch.tags_size() == 0)
    return;
  ++batches;
  batched += static_cast<uint64_t>(box.batch.tags_size());
  // peer_actor does not list the publish batch; the ingress it is does.
  self->send(caf::actor_cast<peer_ingress_actor>(box.to), atom::batch_v,
             std::move(box.batch));
  box.batch = pb::PublishBatch{};
  box.bytes = 0;
}

void topic_dispatcher_state::flush_all() {
  flush_pending = false;
  for (auto& [node, box] : outboxes)
    flush(box);
}

void topic_dispatcher_state::on_replies(const std::string& peer,
                                        pb::PublishReplies& r) {
  constexpr uint64_t mask = (uint64_t{1} << publish_tag_slot_bits) - 1;
  if (r.tags_size() != r.responses_size()) {
    // The ingress drops these already; never index past the answers.
    log->warn("peer {} sent {} tags for {} publish answers: dropped", peer,
              r.tags_size(), r.responses_size());
    return;
  }
  for (int k = 0; k < r.tags_size(); ++k) {
    auto tag = r.tags(k);
    auto i = runs.find(tag >> publish_tag_slot_bits);
    auto slot = static_cast<size_t>(tag & mask);
    if (i == runs.end())
      continue; // finished already (timed out, or the peer went down)
    auto& run = i->second;
    if (slot < run.local_slots || slot >= run.slots.size()
        || run.slots[slot].done || run.slots[slot].peer != peer)
      continue; // not this peer's to answer
    auto& dispatchers = *r.mutable_responses(k)->mutable_dispatchers();
    std::vector<pb::DispatcherOutcome> list;
    list.reserve(static_cast<size_t>(dispatchers.size()));
    for (auto& o : dispatchers)
      list.push_back(std::move(o));
    part_done(run.seq, slot, std::move(list)); // none: nothing ran there
  }
}

// The serving side: a peer's batch, here through our ingress for it.
std::pair<pb::PublishReplies, pb::PublishBatch>
topic_dispatcher_state::serve_batch(pb::PublishBatch& batch) {
  auto done = std::make_shared<pb::PublishReplies>();
  pb::PublishBatch rest;
  auto n = std::min(batch.requests_size(), batch.tags_size());
  for (int i = 0; i < n; ++i) {
    auto tag = batch.tags(i);
    auto& req = *batch.mutable_requests(i);
    req.set_local_only(true); // a peer runs this node's dispatchers only
    // The origin reads a part's outcomes (and status) only.
    auto answered = [done, tag](pb::PublishResponse r) {
      auto* x = done->add_responses();
      x->set_status(std::move(*r.mutable_status()));
      x->mutable_dispatchers()->Swap(r.mutable_dispatchers());
      done->add_tags(tag);
    };
    if (!publish(std::move(req), std::move(answered), true)) {
      *rest.add_requests() = std::move(req);
      rest.add_tags(tag);
    }
  }
  return {std::move(*done), std::move(rest)};
}

void topic_dispatcher_state::drop_outboxes_of_lost_peers() {
  for (auto i = outboxes.begin(); i != outboxes.end();) {
    auto* p = peers ? peers->find(i->first) : nullptr;
    // A new ingress (the peer reconnected): what waits was for the old
    // one, whose parts fail_parts_of_lost_peers fails.
    if (p == nullptr || !is_routable(p->state) || !p->peer
        || caf::actor_cast<caf::actor>(p->peer) != i->second.to)
      i = outboxes.erase(i);
    else
      ++i;
  }
}

// A peer that left the table, is no longer routable, or reconnected (a new
// ingress) answers no more for the parts it had.
void topic_dispatcher_state::fail_parts_of_lost_peers() {
  std::vector<std::pair<uint64_t, size_t>> lost;
  for (const auto& [seq, run] : runs)
    for (size_t slot = run.local_slots; slot < run.slots.size(); ++slot) {
      if (run.slots[slot].done)
        continue;
      auto* p = peers ? peers->find(run.slots[slot].peer) : nullptr;
      if (p == nullptr || !is_routable(p->state)
          || p->peer.address() != run.slots[slot].ingress)
        lost.emplace_back(seq, slot);
    }
  for (auto [seq, slot] : lost) {
    auto node = runs[seq].slots[slot].peer;
    pb::DispatcherOutcome o;
    o.set_node_id(node);
    o.set_status("publish_failed");
    o.set_error("node " + node
                + " went down or reconnected during the publish");
    part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(o)});
  }
}

} // namespace mesh
