// The connection manager's reactions to what its peers say and do:
// heartbeats, service announcements, a graceful leave, and a lost
// connection. Split from connection_manager.cpp to keep it small.

#include <caf/actor_system.hpp>

#include "actors/cluster/membership/connection_manager_state.hpp"
#include "actors/local_only.hpp"

namespace mesh::detail {

void connection_manager_state::on_heartbeat(const pb::Heartbeat& hb) {
  auto* rec = dir.find(hb.node_id());
  if (rec == nullptr || rec->state == peer_state::left
      || rec->state == peer_state::joining)
    return;
  rec->detector.heard(now());
  rec->detector.pace(std::chrono::milliseconds{hb.heartbeat_interval_ms()});
  bool changed = false;
  if (hb.has_reachability()) {
    changed = take_report(hb.node_id(), hb.reachability());
    // A peer an operator removed is forgotten once reported down: the
    // sender itself, perhaps.
    if (rec = dir.find(hb.node_id()); rec == nullptr) {
      if (changed)
        publish();
      return;
    }
  }
  // A peer we gave up on is alive after all: reachable again. One that
  // others judge (we do not watch it) stays as their reports say.
  if (!rec->reported) {
    changed |= rec->observed; // our report changes
    rec->observed = false;
    if (dir.set_state(*rec, peer_state::up, now())) {
      log->info("peer {} is up again", rec->id);
      changed = true;
    }
  }
  if (changed)
    publish();
  discover(hb.members());
}

void connection_manager_state::on_announce(const pb::ServiceAnnouncement& a) {
  auto* rec = dir.find(a.node_id());
  if (rec == nullptr || a.version() < rec->services_version)
    return;
  dir.apply(*rec, a);
  log->debug("peer {} serves {} namespaces, {} methods (version {})", rec->id,
             a.namespaces_size(), a.methods_size(), a.version());
  publish();
}

void connection_manager_state::on_peer_leave(const pb::Leave& msg) {
  auto* rec = dir.find(msg.node_id());
  if (rec == nullptr)
    return;
  log->info("peer {} left the cluster: {}", rec->id, msg.reason());
  rec->observed = false;
  rec->reported = false;
  reports.erase(rec->id);
  dir.set_state(*rec, peer_state::left, now());
  publish();
}

void connection_manager_state::on_down(const caf::down_msg& dm) {
  if (erase_actor(subscribers, dm.source))
    return;
  for (auto& [id, rec] : dir.records()) {
    if (!rec.remote || rec.remote.address() != dm.source)
      continue;
    rec.remote = peer_actor{};
    drop_ingress(rec.node);
    if (rec.state == peer_state::left || rec.state == peer_state::down)
      return;
    log->warn("lost connection to peer {}: {}", id, caf::to_string(dm.reason));
    rec.observed = false;
    rec.reported = false;
    dir.set_state(rec, peer_state::down, now());
    if (tombstoned(rec.id, rec.incarnation)) {
      // Removed on a peer while still up here: forgotten now it is down.
      forget(rec);
      publish();
      return;
    }
    publish();
    if (rec.dialer && !leaving)
      schedule_retry(rec.address, dial_reason::redial);
    return;
  }
}

} // namespace mesh::detail
