#pragma once

// The state of the topic_dispatcher (topic_dispatcher.cpp: registration,
// routes of peers, metrics; topic_publish.cpp: the publish flow).

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cluster/membership/peer_table.hpp"
#include "actors/sweep_timer.hpp"
#include "actors/topics/topic_dispatcher.hpp"
#include "actors/topics/topic_handler.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/latency_histogram.hpp"
#include "telemetry/log.hpp"

namespace mesh {

/// Microseconds since `t` (durations in results and metrics).
inline uint64_t micros_since(std::chrono::steady_clock::time_point t) {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - t)
      .count());
}

struct dispatcher_metrics {
  uint64_t executions = 0;
  uint64_t errors = 0;   ///< failed runs, timeouts included
  uint64_t timeouts = 0;
  latency_histogram latency;
};

struct topic_dispatcher_state;

/// One part of a publish: a local dispatcher, or a peer with all of its.
struct publish_slot {
  /// A local slot holds its dispatcher's one outcome (ids set at the
  /// start), a peer's slot the outcomes of all its dispatchers.
  std::vector<pb::DispatcherOutcome> outcomes;
  bool done = false;
  /// When the answer is overdue (the actor clock: tests move it).
  caf::actor_clock::time_point deadline;
  std::string peer; ///< node id of a peer's slot ("" if local)
  /// The ingress the part went to: a peer that reconnects (a new process
  /// behind the same id, still up) answers nothing sent to the old one.
  caf::actor_addr ingress;
};

/// One publish in progress on this node (one level: outputs start their own).
struct publish_run {
  uint64_t seq = 0;
  /// The request as received, shared with the record dispatchers that keep
  /// it (no copy per publish).
  std::shared_ptr<const pb::PublishRequest> req;
  message_category category = message_category::event;
  /// The request as function and forward dispatchers see it: built on
  /// first use (record dispatchers need none), shared by every job.
  std::shared_ptr<const topic_message> msg;
  std::chrono::steady_clock::time_point started;
  /// What each part may take: the dispatcher timeout, or the caller's
  /// deadline_ms when shorter; then `until` is when the caller's ends
  /// (outputs included), else max.
  std::chrono::milliseconds budget{0};
  caf::actor_clock::time_point until = caf::actor_clock::time_point::max();
  size_t pending = 0; ///< parts not yet answered
  /// The local dispatchers' slots first, then one per peer.
  std::vector<publish_slot> slots;
  size_t local_slots = 0;
  std::function<void(pb::PublishResponse)> finish;
};

/// Publishes to one peer that leave together (topic_outbox.cpp).
struct publish_outbox {
  caf::actor to; ///< the peer's ingress for this node
  pb::PublishBatch batch;
  size_t bytes = 0;
};

/// A batch tag: the publish's seq above, its slot in the low bits.
inline constexpr unsigned publish_tag_slot_bits = 16;

struct topic_dispatcher_state {
  static inline const char* name = "mesh.topic_dispatcher";

  topics_actor::pointer self = nullptr;
  topic_dispatcher_config cfg;
  std::shared_ptr<spdlog::logger> log;
  job_runner_ptr runner;

  // -- local routes and dispatchers -----------------------------------------
  std::shared_ptr<route_table> table = std::make_shared<route_table>();
  std::map<std::string, dispatcher_spec, std::less<>> specs;
  std::map<std::string, dispatcher_metrics, std::less<>> metrics;
  /// Kept messages of record dispatchers, as published: their JSON is
  /// built when someone reads them (atom::records), not per publish.
  std::map<std::string, std::deque<std::shared_ptr<const pb::PublishRequest>>,
           std::less<>>
    records;
  uint64_t publishes = 0, publishes_ok = 0;

  // -- peers ------------------------------------------------------------------
  peer_table_ptr peers;
  /// What each peer told us of its routes (dispatchers unknown here).
  std::map<std::string, route_table, std::less<>> remote;
  std::set<std::string> synced; ///< peers that have our current routes

  // -- publishes in progress --------------------------------------------------
  std::map<uint64_t, publish_run> runs;
  // One timer for every deadline, not one per part: CAF's clock lives on
  // its own thread, and waking it per publish costs more than the publish.
  sweep_timer<caf::actor_clock> sweeps;

  // -- batches to peers (topic_outbox.cpp) -------------------------------------
  std::map<std::string, publish_outbox, std::less<>> outboxes; ///< by node id
  bool flush_pending = false; ///< an (atom::flush) to ourselves is queued
  uint64_t batches = 0, batched = 0;

  // -- shutdown -----------------------------------------------------------------
  bool draining = false; ///< new publishes are refused
  /// answered once runs is empty
  std::vector<caf::typed_response_promise<caf::ok_atom>> drained;

  // topic_dispatcher.cpp
  caf::error add_dispatcher(dispatcher_spec spec);
  caf::error add_route(topic_route r);
  caf::error enable_route(const std::string& id, bool enabled);
  void routes_changed();
  /// Saves routes, dispatchers and peers' routes for a successor.
  void keep();
  void adopt(const topic_dispatcher_memory& m);
  void on_peers(peer_table_ptr table);
  void on_peer_routes(const pb::TopicRoutes& msg);
  pb::TopicRoutes routes_message() const;
  nlohmann::json routes_json() const;
  nlohmann::json metrics_json() const;

  // topic_publish.cpp
  /// Validates, runs every part, publishes outputs in turn, then calls
  /// `finish` exactly once. With `at_once_only`, a publish that would wait
  /// on a dispatcher (any kind but record) does not start: `req` is left
  /// as it was and the result is false; otherwise `finish` has been called
  /// when this returns.
  bool publish(pb::PublishRequest&& req,
               std::function<void(pb::PublishResponse)> finish,
               bool at_once_only = false);
  /// A batch of a peer's publishes: those that answer at once are answered
  /// in the result's first part, the others are handed back (they go alone).
  std::pair<pb::PublishReplies, pb::PublishBatch>
  serve_batch(pb::PublishBatch& batch);
  void run_local(publish_run& run, size_t slot, const dispatcher_spec& spec);
  const std::shared_ptr<const topic_message>& message_of(publish_run& run);
  /// The "fanout" record: which dispatchers here and which peers (tracing).
  void trace_fanout(const pb::PublishRequest& req,
                    const std::vector<std::string>& local,
                    const std::vector<const peer_route*>& remote_parts);
  void run_remote(publish_run& run, size_t slot, const peer_route& peer);
  void part_done(uint64_t seq, size_t slot, pb::DispatcherOutcome outcome);
  /// A dispatcher's request failed: its part is a sanitised dispatcher_error.
  void part_failed(uint64_t seq, size_t slot, const caf::error& err);
  void part_done(uint64_t seq, size_t slot,
                 std::vector<pb::DispatcherOutcome> outcomes);
  /// Marks a slot answered; the last one completes the publish.
  void slot_done(publish_run& run, size_t slot);
  void fail_parts_of_lost_peers();
  void complete(uint64_t seq);
  struct output_walk;
  /// Publishes the outputs of `w` in turn, in a loop while they finish at
  /// once (no recursion per output), then finishes it.
  void publish_outputs(std::shared_ptr<output_walk> w);
  /// Ends the walk: the outputs not yet published are not, an outcome with
  /// `status` and `why` says so.
  void skip_outputs(output_walk& w, const char* status, const std::string& why);
  void record_metrics(const pb::DispatcherOutcome& outcome);

  // topic_deadlines.cpp
  /// True when `req` carries a deadline_ms shorter than the dispatcher
  /// timeout: the caller's deadline then bounds the publish.
  bool caller_deadline_applies(const pb::PublishRequest& req) const;
  /// Each slot's deadline, and the run's budget and `until` (the run's
  /// request and slots are set).
  void set_deadlines(publish_run& run);
  /// A publish as a peer gets it: local_only, and within the caller's
  /// deadline a little shorter.
  void for_peer(pb::PublishRequest& copy) const;
  void arm_sweep(caf::actor_clock::time_point when);
  /// Ends the parts whose deadline passed (`timeout`).
  void sweep();

  // topic_outbox.cpp
  /// A peer's part of a publish joins that peer's outbox.
  void enqueue(const peer_route& peer, uint64_t seq, size_t slot,
               const pb::PublishRequest& req);
  void flush(publish_outbox& box);
  void flush_all();
  /// Answers of `peer` (passed on by our ingress for it), matched by tag.
  void on_replies(const std::string& peer, pb::PublishReplies& r);
  /// Outboxes of peers no longer routable go: their parts fail anyway.
  void drop_outboxes_of_lost_peers();
};

/// Publish numbers unique in the process: a restarted topic dispatcher
/// never takes a late batched answer meant for its predecessor.
uint64_t next_publish_seq();

/// A kept message as `meshctl records` shows it.
nlohmann::json record_json(const pb::PublishRequest& m);

/// Seed 004's statuses, aggregated: the worst part decides.
std::string aggregate_status(const std::vector<pb::DispatcherOutcome>& parts);
std::string aggregate_status(
  const google::protobuf::RepeatedPtrField<pb::DispatcherOutcome>& parts);

} // namespace mesh
