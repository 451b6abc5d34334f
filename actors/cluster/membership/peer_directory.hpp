#pragma once

// The connection manager's records of its peers: identity, state, what each
// serves, liveness and re-dial backoff. A plain class (no messaging), so the
// bookkeeping is tested on its own; the actor drives it.

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "actors/cluster/membership/peer_table.hpp"
#include "cluster/backoff.hpp"
#include "cluster/failure_detector.hpp"
#include <caf/node_id.hpp>

#include "protocol/messaging/peer_actors.hpp"

namespace mesh {

namespace pb {
class Member;
class ServiceAnnouncement;
} // namespace pb

struct cluster_timing {
  std::chrono::milliseconds heartbeat_interval{1000};
  uint32_t heartbeat_misses = 3;
  /// Monitors per node: how many peers each node beats and watches (the
  /// heartbeat ring, cluster/monitor_ring.hpp).
  uint32_t monitors = 3;
  std::chrono::milliseconds redial_initial{200};
  std::chrono::milliseconds redial_max{5000};
};

struct peer_record {
  std::string id;
  std::string address;
  std::string incarnation;
  std::string connection_id;
  peer_state state = peer_state::joining;
  peer_actor remote;   ///< the peer's ingress for us (null when not up)
  caf::node_id node;   ///< the peer's CAF node (keys our ingress for it)
  std::set<std::string, std::less<>> namespaces; ///< what the peer serves
  std::map<service_key, bool, service_key_less> methods;
  uint64_t services_version = 0;
  failure_detector detector;
  bool dialer = false; ///< we dialled: we re-dial after a failure
  /// It beats us (the heartbeat ring): our own detector judges it.
  bool watched = false;
  /// Its suspect or down state is our detector's verdict (we report it).
  bool observed = false;
  /// Its suspect or down state comes from peers' reachability reports.
  bool reported = false;
  /// Digest of the member list last sent to this peer (0: none yet on this
  /// connection): heartbeats carry the full list only when it differs.
  uint64_t members_sent = 0;
  backoff redial;
  std::chrono::steady_clock::time_point since; ///< of the last state change

  peer_record(const cluster_timing& t)
    : detector(t.heartbeat_interval, t.heartbeat_misses),
      redial(t.redial_initial, t.redial_max) {}
};

class peer_directory {
public:
  using clock = std::chrono::steady_clock;

  explicit peer_directory(cluster_timing timing) : timing_(timing) {}

  const cluster_timing& timing() const {
    return timing_;
  }

  /// The namespaces this node serves (from the registry).
  void set_local_namespaces(std::set<std::string, std::less<>> xs) {
    local_ = std::move(xs);
  }

  const std::set<std::string, std::less<>>& local_namespaces() const {
    return local_;
  }

  peer_record* find(std::string_view id);
  peer_record* find_by_address(std::string_view address);

  /// The record of `id`, created in state joining if new.
  peer_record& get_or_add(const std::string& id);

  void erase(std::string_view id) {
    records_.erase(std::string{id});
  }

  /// Takes over what a peer announces it serves.
  void apply(peer_record& rec, const pb::ServiceAnnouncement& services);

  /// Moves `rec` to `state` (noting when); returns true if it changed.
  bool set_state(peer_record& rec, peer_state state, clock::time_point now);

  /// Namespaces both this node and `rec` serve, sorted.
  std::vector<std::string> shared_with(const peer_record& rec) const;

  /// Routable peers as members (node id and address), for discovery.
  std::vector<pb::Member> members() const;

  /// A digest of members() (never 0): changes whenever the list does.
  uint64_t members_digest() const;

  /// Number of routable peers.
  size_t routable() const;

  /// A fresh snapshot for the router.
  peer_table_ptr snapshot();

  /// Every peer for `meshctl peers`; `in_flight` comes from the router.
  nlohmann::json describe(clock::time_point now,
                          const nlohmann::json& in_flight) const;

  std::map<std::string, peer_record>& records() {
    return records_;
  }

  const std::map<std::string, peer_record>& records() const {
    return records_;
  }

private:
  cluster_timing timing_;
  std::set<std::string, std::less<>> local_;
  std::map<std::string, peer_record> records_;
  uint64_t version_ = 0;
};

} // namespace mesh
