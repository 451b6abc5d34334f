// The connection manager's heartbeat ring (cluster/monitor_ring.hpp): whom
// this node beats and watches, the verdicts it reports on the peers it
// watches, and the states it takes from the reports of others for the
// peers it does not watch.

#include "actors/cluster/membership/connection_manager_state.hpp"

namespace mesh::detail {

void connection_manager_state::update_ring() {
  std::vector<std::string> up;
  for (auto& [id, rec] : dir.records())
    if (is_routable(rec.state))
      up.push_back(id);
  auto k = dir.timing().monitors;
  ring = monitor_ring(cfg.node_id, up, k);
  auto t = now();
  for (auto& [id, rec] : dir.records()) {
    bool watch = ring.watch.count(id) > 0;
    if (rec.observed && rec.state == peer_state::down) {
      // We found it down. Were it up, would it still beat us? If the ring
      // changed meanwhile (a node joined next to it), it will never beat
      // us again and our verdict would stand forever: those that would
      // watch it now decide.
      auto with = up;
      with.push_back(id);
      if (monitor_ring(cfg.node_id, std::move(with), k).watch.count(id) == 0) {
        rec.observed = false;
        rec.reported = true;
      }
    }
    if (watch && !rec.watched) {
      // Its beats to us may only start now (its ring changed as ours did):
      // a full timeout before our detector may judge it.
      rec.detector.heard(t);
      rec.reported = false;
    } else if (!watch && rec.watched && rec.observed
               && rec.state != peer_state::down) {
      // No longer ours to judge: the reports of those that watch it
      // decide. A peer we found down stays so (and reported) until heard.
      rec.observed = false;
      rec.reported = true;
    }
    rec.watched = watch;
  }
}

uint64_t connection_manager_state::gossip_digest() const {
  uint64_t h = dir.members_digest();
  auto mix = [&h](const std::string& x, uint8_t tag) {
    h = (h ^ tag) * 1099511628211ull;
    for (unsigned char c : x)
      h = (h ^ c) * 1099511628211ull;
  };
  for (auto& [id, rec] : dir.records())
    if (rec.observed)
      mix(id, rec.state == peer_state::down ? 2 : 1);
  return h == 0 ? 1 : h;
}

pb::Reachability connection_manager_state::our_reachability() const {
  pb::Reachability r;
  for (auto& [id, rec] : dir.records()) {
    if (!rec.observed)
      continue;
    if (rec.state == peer_state::down)
      r.add_down(id);
    else if (rec.state == peer_state::suspect)
      r.add_suspect(id);
  }
  return r;
}

bool connection_manager_state::take_report(const std::string& from,
                                           const pb::Reachability& r) {
  reports[from] = keep_known(r.suspect(), r.down(), [&](const std::string& id) {
    return id != cfg.node_id && dir.records().count(id) > 0;
  });
  return apply_reports();
}

peer_state
connection_manager_state::reported_state(const peer_record& rec) const {
  auto worst = peer_state::up;
  for (auto& [from, r] : reports) {
    if (from == rec.id)
      continue; // nobody judges itself
    // Only the word of a peer that is itself routable here counts.
    auto i = dir.records().find(from);
    if (i == dir.records().end() || !is_routable(i->second.state))
      continue;
    if (r.down.count(rec.id) > 0)
      return peer_state::down;
    if (r.suspect.count(rec.id) > 0)
      worst = peer_state::suspect;
  }
  return worst;
}

bool connection_manager_state::apply_reports() {
  bool changed = false;
  auto t = now();
  std::vector<std::string> gone; // removed on a peer, down here now
  for (auto& [id, rec] : dir.records()) {
    // Ours to judge, or decided by what we saw ourselves (a lost
    // connection, our own verdict, a leave, a handshake in progress).
    if (rec.watched || rec.observed || !rec.remote
        || (rec.state != peer_state::up && !rec.reported))
      continue;
    auto said = reported_state(rec);
    rec.reported = said != peer_state::up;
    if (!dir.set_state(rec, said, t))
      continue;
    changed = true;
    if (said == peer_state::up)
      log->info("peer {} is up again (as the peers that watch it report)",
                id);
    else
      log->warn("peer {} is {} (as a peer that watches it reports)", id,
                to_string(said));
    // As for a peer our own detector finds down (tick).
    if (said == peer_state::down && tombstoned(id, rec.incarnation))
      gone.push_back(id);
    else if (said == peer_state::down && rec.dialer && !leaving)
      schedule_retry(rec.address, dial_reason::redial);
  }
  for (const auto& id : gone)
    if (auto* rec = dir.find(id))
      forget(*rec);
  return changed;
}

} // namespace mesh::detail
