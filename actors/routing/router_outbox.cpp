// The request router's batches to peers (issue 16): every attempt at a peer
// joins that peer's outbox, tagged with its call and attempt; the outbox
// leaves as one (atom::batch, pb::ServeBatch) to the peer's ingress. CAF
// spends most of a remote message's cost per message, not per byte, so
// requests that are ready together travel together. A lone request is never
// held back: when the mailbox holds nothing more, the outbox leaves at once;
// otherwise a message to ourselves, queued behind everything already
// there, sends it. The peer's ingress answers with ServeReplies (through
// our ingress for that peer), matched here by tag. With an open data link
// to the peer (cluster/transport/data_plane.hpp) the batch is written on it
// from this thread instead, and the answers come back on it (data_replies);
// a lost link fails the attempts it carried (link_down).
//
// Exactly one answer per request stays the attempt table's job
// (router_remote.cpp): a tag only names (call, attempt), so a late answer,
// an answer for a call already finished or one from another peer than the
// attempt's is ignored, and nothing is kept per tag that could leak.

#include <caf/event_based_actor.hpp>

#include "actors/cluster/ingress/cpu_share.hpp"
#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/routing/router_state.hpp"

namespace mesh::detail {

peer_outbox& router_state::outbox_of(const std::string& node) {
  auto& box = outboxes[node];
  if (box.node.empty())
    box.node = node;
  return box;
}

pb::ServeRequest& router_state::enqueue_slot(peer_outbox& box,
                                             const caf::actor& to,
                                             size_t bytes) {
  if (box.to != to) {
    flush(box); // the peer's ingress changed (a new connection)
    box.to = to;
  }
  auto size = bytes + 64;
  // One transport message stays within its bound: a large request leaves
  // what waits first, then travels alone.
  if (box.batch.tags_size() > 0 && box.bytes + size > batch_max_bytes)
    flush(box);
  box.bytes += size;
  auto& req = *box.batch.add_requests();
  if (!box.spare_refs.empty()) {
    req.set_allocated_ref(box.spare_refs.back().release());
    box.spare_refs.pop_back();
  }
  if (!box.spare_payloads.empty()) {
    req.set_allocated_payload(box.spare_payloads.back().release());
    box.spare_payloads.pop_back();
  }
  return req;
}

void router_state::enqueued(peer_outbox& box, uint64_t id, size_t index) {
  box.batch.add_tags((id << tag_index_bits) | index);
  if (box.batch.tags_size() >= batch_max_count) {
    flush(box);
  } else if (self->mailbox().empty()) {
    // Nothing else to batch with: no reason to wait.
    flush(box);
  } else if (!flush_pending) {
    flush_pending = true;
    self->send(self, atom::batch_v);
  }
}

void router_state::flush(peer_outbox& box) {
  if (box.batch.tags_size() == 0)
    return;
  // Its loss fails the attempts out there (ingress_down), as a request to
  // it would have failed.
  if (monitored.insert(box.to.address()).second)
    self->monitor(box.to);
  ++batches;
  batched += static_cast<uint64_t>(box.batch.tags_size());
  if (!send_on_link(box)) {
    self->send(caf::actor_cast<peer_actor>(box.to), atom::batch_v,
               std::move(box.batch));
    box.batch = pb::ServeBatch{};
  } else if (box.bytes <= peer_outbox::reuse_max_bytes) {
    // Written out and still ours: Clear keeps the requests and their
    // strings allocated, and their refs and payloads go aside (Clear would
    // free them), so the next batch fills them in place instead of
    // allocating and freeing several objects per request.
    for (auto& r : *box.batch.mutable_requests()) {
      if (r.has_ref())
        box.spare_refs.emplace_back(r.release_ref());
      if (r.has_payload()
          && r.payload().value().capacity() <= peer_outbox::spare_payload_bytes)
        box.spare_payloads.emplace_back(r.release_payload());
    }
    box.batch.Clear();
  } else {
    box.batch = pb::ServeBatch{}; // a large one is not kept around
  }
  box.bytes = 0;
}

bool router_state::send_on_link(peer_outbox& box) {
  if (!cfg.data)
    return false;
  auto link = cfg.data->link_to(box.node);
  if (!link)
    return false;
  auto& b = box.batch;
  b.set_sender_cpu(sender_cpu_tag()); // cpu_share.hpp
  auto size = b.ByteSizeLong();
  if (!link->send(frame_kind::request, size, [&b](uint8_t* p) {
        b.SerializeWithCachedSizesToArray(p);
      }))
    return false;
  // The attempts ride on this link now: its loss fails them (link_down).
  constexpr uint64_t mask = (uint64_t{1} << tag_index_bits) - 1;
  for (auto tag : b.tags())
    if (auto i = calls.find(tag >> tag_index_bits); i != calls.end()) {
      auto index = static_cast<size_t>(tag & mask);
      if (index < i->second.attempts.size())
        i->second.attempts[index].link = link->id();
    }
  ++data_batches;
  return true;
}

void router_state::link_down(const std::string& peer, uint64_t link) {
  std::vector<std::pair<uint64_t, size_t>> lost;
  for (const auto& [id, call] : calls)
    for (size_t k = 0; k < call.attempts.size(); ++k)
      if (call.attempts[k].out && call.attempts[k].link == link
          && call.attempts[k].node == peer)
        lost.emplace_back(id, k);
  if (!lost.empty())
    log->warn("the data link to {} failed with {} requests out", peer,
              lost.size());
  auto reason = make_error(status_code::unavailable,
                           "the connection to node " + peer + " was lost");
  for (const auto& [id, k] : lost)
    on_error(id, k, reason);
}

void router_state::flush_all() {
  flush_pending = false;
  for (auto& [node, box] : outboxes)
    flush(box);
}

void router_state::on_replies(const std::string& peer, pb::ServeReplies& r) {
  constexpr uint64_t mask = (uint64_t{1} << tag_index_bits) - 1;
  if (r.tags_size() != r.responses_size()) {
    // The ingress drops these already; never index past the answers.
    log->warn("peer {} sent {} tags for {} answers: dropped", peer,
              r.tags_size(), r.responses_size());
    return;
  }
  for (int k = 0; k < r.tags_size(); ++k) {
    auto tag = r.tags(k);
    auto id = tag >> tag_index_bits;
    auto index = static_cast<size_t>(tag & mask);
    auto i = calls.find(id);
    if (i == calls.end() || index >= i->second.attempts.size()
        || i->second.attempts[index].node != peer)
      continue; // finished already, or not this peer's to answer
    on_reply(id, index, *r.mutable_responses(k));
  }
}

void router_state::ingress_down(const caf::actor_addr& who,
                                const caf::error& reason) {
  monitored.erase(who);
  for (auto i = outboxes.begin(); i != outboxes.end();)
    if (i->second.to.address() == who)
      i = outboxes.erase(i);
    else
      ++i;
  // An attempt that left on a data link is the link's to fail: a peer that
  // leaves answers what it holds on the link, then exits, and news of its
  // ingress (by BASP) may come before those answers (read by the data
  // plane's thread), even once the plane has read the link's end after
  // them. The link's close (link_down) reaches us after its last answer,
  // from the same thread, and comes with the ingress (the peer closes the
  // links an ingress owned) or a kill.
  auto on_data_link = [this](const call_attempt& a) {
    return a.link != 0 && cfg.data != nullptr;
  };
  std::vector<std::pair<uint64_t, size_t>> lost;
  for (const auto& [id, call] : calls)
    for (size_t k = 0; k < call.attempts.size(); ++k) {
      const auto& a = call.attempts[k];
      if (a.out && !call.local && a.to.address() == who && !on_data_link(a))
        lost.emplace_back(id, k);
    }
  // on_error checks each is still out: a retry may be sent meanwhile.
  for (const auto& [id, k] : lost)
    on_error(id, k, reason);
}

} // namespace mesh::detail
