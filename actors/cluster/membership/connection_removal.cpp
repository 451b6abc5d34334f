// Removing a peer (`meshctl remove`), on every node: the node an operator
// asks forgets the peer and tells its up peers to forget it too; each keeps
// a tombstone so that gossip from a peer that still saw the removed process
// does not bring it back. The removed node connecting by itself (or a new
// process of it) ends the tombstone.

#include "actors/cluster/membership/connection_manager_state.hpp"

namespace mesh::detail {

void connection_manager_state::forget(peer_record& rec) {
  retry.erase(rec.address);
  retry_reason.erase(rec.address);
  if (cfg.memory)
    cfg.memory->peer_addresses.erase(rec.address);
  drop_ingress(rec.node);
  auto id = rec.id; // rec dies with its entry
  reports.erase(id);
  dir.erase(id);
}

bool connection_manager_state::tombstoned(const std::string& id,
                                          const std::string& incarnation) {
  auto i = removed.find(id);
  if (i == removed.end())
    return false;
  if (now() - i->second.since > removal_memory) {
    removed.erase(i);
    return false;
  }
  return incarnation.empty() || incarnation == i->second.incarnation;
}

caf::error connection_manager_state::remove(const std::string& id) {
  auto* rec = dir.find(id);
  if (rec == nullptr)
    return make_error(status_code::not_found, "node '" + id
                                                  + "' is not a known peer of "
                                                  + cfg.node_id);
  if (is_routable(rec->state))
    return make_error(status_code::invalid_argument,
                      "peer " + id + " is " + to_string(rec->state)
                          + "; only down or left peers can be removed");
  removed[id] = tombstone{rec->incarnation, now()};
  forget(*rec);
  pb::Leave msg;
  msg.set_node_id(id);
  msg.set_reason("removed by an operator on node " + cfg.node_id);
  size_t told = 0;
  for (auto& [peer, prec] : dir.records())
    if (is_routable(prec.state)) {
      self->send(prec.remote, atom::remove_v, msg);
      ++told;
    }
  log->info("removed peer {} and told {} peer(s) to forget it", id, told);
  publish();
  return caf::none;
}

void connection_manager_state::on_forget(const pb::Leave& msg) {
  const auto& id = msg.node_id();
  auto* rec = dir.find(id);
  if (id == cfg.node_id || rec == nullptr)
    return; // not ours to forget, or forgotten already
  removed[id] = tombstone{rec->incarnation, now()};
  if (is_routable(rec->state)) {
    // Still up here (the two saw it differently): forgotten when it goes
    // down, unless it comes back first.
    log->info("peer {} is {} here though {}: forgotten once it goes down", id,
              to_string(rec->state), msg.reason());
    return;
  }
  forget(*rec);
  log->info("forgot peer {}: {}", id, msg.reason());
  publish();
}

} // namespace mesh::detail
