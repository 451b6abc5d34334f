#pragma once

// Private to the connection manager: its state, shared by the two files
// that implement it (connection_manager.cpp: the handshake's accepting side,
// heartbeats, leave, console; connection_dialer.cpp: dialling, re-dialling,
// discovery).

#include <map>
#include <random>
#include <set>

#include <caf/typed_event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <nlohmann/json.hpp>

#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/handlers/handler_table.hpp"
#include "cluster/backoff.hpp"
#include "cluster/monitor_ring.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh::detail {

/// Why an address is being dialled: decides what happens when it fails.
enum class dial_reason : uint8_t {
  seed,     ///< configured seed: retried forever
  redial,   ///< a peer we dialled went down: retried until removed
  learned,  ///< a member a peer told us about: retried a few times
  operator_ ///< meshctl connect: the error goes back to the operator
};

/// A peer an operator removed: its process is not dialled again from
/// gossip (peers that still saw it would otherwise bring it back at once).
struct tombstone {
  std::string incarnation; ///< of the removed process
  std::chrono::steady_clock::time_point since;
};

struct pending_dial {
  dial_reason reason = dial_reason::learned;
  /// meshctl connect
  std::vector<caf::typed_response_promise<nlohmann::json>> waiters;
  caf::node_id node; ///< of the gate we reached (its ingress is pending)
};

/// Our ingress for one peer CAF node: spawned at its first handshake (by
/// either side), reused by every later one, ended with the connection.
struct ingress_entry {
  peer_ingress_actor actor;
  std::string peer_id; ///< empty while pending (we dialled, no answer yet)
};

/// A peer's data port, which carries our requests to it: when our link
/// there fails while the peer stays up, we ask it for a new token
/// (connection_data_links.cpp).
struct data_redial {
  std::string incarnation; ///< the peer process that offered the port
  backoff wait{std::chrono::seconds{1}, std::chrono::seconds{30}};
  std::chrono::steady_clock::time_point next{}; ///< the next ask, not before
  bool lost = false;   ///< our link failed and no new one is up yet
  bool asking = false; ///< a token request is out
};

struct connection_manager_state {
  static inline const char* name = "mesh.connection_manager";
  static constexpr uint32_t learned_attempts = 5;
  static constexpr auto removal_memory = std::chrono::minutes{10};
  /// Every Nth heartbeat carries the full member list even when the peer
  /// has it: a safety net for discovery (anti-entropy).
  static constexpr uint64_t full_members_every = 10;

  cluster_actor::pointer self = nullptr;
  connection_manager_config cfg;
  std::shared_ptr<spdlog::logger> log;
  peer_directory dir{cluster_timing{}};
  std::string address; ///< our listen address, once known
  bool started = false;
  bool leaving = false;
  uint64_t heartbeat_seq = 0;
  std::chrono::steady_clock::time_point last_tick{}; ///< of the last tick
  ring_roles ring; ///< whom we beat and watch, as of the last tick
  /// The latest reachability report of each peer, by its id.
  std::map<std::string, reachability_report> reports;
  pb::ServiceAnnouncement services; ///< what we announce
  std::vector<caf::actor> subscribers;
  std::map<std::string, pending_dial> dials;     ///< by address
  std::map<std::string, backoff> retry;          ///< by address, no record yet
  std::map<std::string, dial_reason> retry_reason;
  std::map<caf::node_id, ingress_entry> ingresses; ///< by peer CAF node
  /// When we last warned that the node at an address refused our secret.
  std::map<std::string, std::chrono::steady_clock::time_point> refusals;
  /// Peers an operator removed (here or on a peer), by id: not dialled again
  /// from gossip until they connect themselves or a new process of theirs
  /// shows up; forgotten after removal_memory.
  std::map<std::string, tombstone> removed;
  std::mt19937_64 rng{std::random_device{}()};
  /// Peers that offered a data port at their handshake, by id.
  std::map<std::string, data_redial> data_links;
  uint64_t data_redials = 0; ///< tokens asked for after a failed link

  using clock = std::chrono::steady_clock;
  clock::time_point now() const {
    return self->clock().now();
  }

  /// Our ingress for the peer CAF node `node` (spawned pending when new).
  ingress_entry& ingress_for(const caf::node_id& node);

  /// Ends our ingress for `node` (the connection is gone or refused).
  void drop_ingress(const caf::node_id& node);

  // -- connection_manager.cpp ------------------------------------------------
  void start(const std::string& listen_address);
  void publish();
  /// Sends the member list at once to every routable peer that has not
  /// got the current one (a change spreads now, not at the next beat).
  void gossip_members();
  pb::Heartbeat make_heartbeat(bool with_members) const;
  /// This node's heartbeat interval as the handshake and beats announce it.
  uint32_t beat_interval_ms() const {
    return static_cast<uint32_t>(cfg.timing.heartbeat_interval.count());
  }
  void services_changed(const handler_table& table);
  caf::result<pb::ConnectResponse, peer_actor>
  accept(const pb::ConnectRequest& req, const peer_actor& theirs,
         const caf::node_id& from);
  void on_heartbeat(const pb::Heartbeat& hb);
  void on_announce(const pb::ServiceAnnouncement& a);
  void on_peer_leave(const pb::Leave& msg);
  void on_down(const caf::down_msg& dm);
  void tick();

  /// The next tick, on the next multiple of the heartbeat interval of the
  /// actor clock (next_beat_delay): the nodes of a host beat together.
  void schedule_tick();
  void leave();
  caf::error remove(const std::string& id);
  /// A peer tells us its operator removed a node (`msg.node_id`).
  void on_forget(const pb::Leave& msg);
  /// Drops `rec` (which must not be routable) and everything that dials it.
  void forget(peer_record& rec);
  /// Whether the process `incarnation` of node `id` was removed recently
  /// (an empty incarnation, from an older node, counts as that process).
  bool tombstoned(const std::string& id, const std::string& incarnation);
  nlohmann::json stats() const;

  // -- connection_dialer.cpp -------------------------------------------------
  void dial(const std::string& address, dial_reason reason,
            caf::typed_response_promise<nlohmann::json>* waiter = nullptr);
  void welcomed(const std::string& address, const std::string& nonce,
                const caf::node_id& node, pb::ConnectResponse& resp,
                peer_actor& theirs);
  void dial_failed(const std::string& address, const caf::error& err);
  /// Warns (at most once a minute per address) that the node at `address`
  /// refused our hello (`by_them`) or that its answer failed our checks
  /// (the cluster secret above all): else a wrong secret is silent.
  void warn_refused(const std::string& address, const std::string& why,
                    bool by_them);
  std::string explain_dial_error(const caf::error& err) const;
  void schedule_retry(const std::string& address, dial_reason reason);
  void discover(const google::protobuf::RepeatedPtrField<pb::Member>& xs);
  void fill_hello(pb::ConnectRequest& req, const std::string& nonce) const;
  void mark_up(peer_record& rec, const peer_actor& theirs,
               const caf::node_id& node, bool same);
  nlohmann::json describe_connection(const peer_record& rec) const;

  // -- connection_ring.cpp ---------------------------------------------------
  /// Recomputes whom we beat and watch from the routable peers; a peer we
  /// start watching gets a full timeout from now.
  void update_ring();
  /// Changes whenever the member list or our own verdicts do: a peer whose
  /// copy is older gets a beat with both (gossip_members, tick).
  uint64_t gossip_digest() const;
  /// Our verdicts on the peers we watch, for a full heartbeat.
  pb::Reachability our_reachability() const;
  /// Takes `from`'s report; returns whether a peer's state changed.
  bool take_report(const std::string& from, const pb::Reachability& r);
  /// Sets every peer we do not watch to what the reports of routable peers
  /// say (the worst of them; up when none); returns whether one changed.
  bool apply_reports();
  /// The state the reports say `rec` has.
  peer_state reported_state(const peer_record& rec) const;

  // -- connection_data_links.cpp ---------------------------------------------
  /// After a handshake: dials the peer's data port (when both sides have a
  /// data plane) and remembers it, to dial again if the link fails.
  void dial_data(const peer_record& rec, const std::string& address,
                 uint32_t port, const std::string& token);
  /// On each tick: asks routable peers whose link failed for a new token
  /// (with backoff), and forgets peers that went away.
  void redial_data_links(clock::time_point t);

  // -- connection_traces.cpp -------------------------------------------------
  /// This node's and every routable peer's records of trace `id`.
  caf::result<nlohmann::json> gather_trace(const std::string& id);
};

} // namespace mesh::detail
