#pragma once

// Private to the request router: its state, shared by request_router.cpp
// (admission, routing, the actor), router_pipeline.cpp (directives, policy,
// hooks, dry runs, reports) and router_remote.cpp (attempts: forwarding,
// retries, hedging, outlier ejection, deadlines).

#include <atomic>
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/actor_names.hpp"
#include "actors/cluster/membership/peer_table.hpp"
#include "actors/guarded_promise.hpp"
#include "actors/handlers/handler_table.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/sweep_timer.hpp"
#include "cluster/load_balancer.hpp"
#include "pipeline/admission.hpp"
#include "pipeline/outlier_detector.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/latency_histogram.hpp"
#include "telemetry/log.hpp"

namespace mesh::detail {

using router_clock = std::chrono::steady_clock;

/// How much longer than a request's own deadline the router waits for a
/// peer's answer: the peer's executor answers deadline_exceeded itself,
/// which is better than our guess.
inline constexpr auto answer_grace = std::chrono::milliseconds{250};

inline std::string path_of(const pb::ServiceRef& ref) {
  return ref.namespace_() + "/" + ref.service() + "/" + ref.method();
}

/// One peer's attempts out now, and its recent latency for the adaptive
/// hedge delay: two windows, the older dropped when the newer one fills.
struct peer_counters {
  static constexpr uint64_t window = 512;
  size_t in_flight = 0;
  latency_histogram current, previous;
  void record(std::chrono::microseconds d);
  std::chrono::microseconds p95() const; ///< both windows; 0: < 20 samples
};

/// One attempt of a call: at a peer, or at this node's executor.
struct call_attempt {
  std::string node;
  caf::actor to;
  router_clock::time_point started;
  router_clock::time_point per_try_until = router_clock::time_point::max();
  bool out = true;       ///< still waiting for its answer
  bool hedged = false;   ///< sent while another attempt was out
  bool probe = false;    ///< the half-open probe of an ejected peer
  bool budgeted = false; ///< holds a slot of the retry budget
  bool abandoned = false;
  uint64_t link = 0; ///< the data link its batch left on (0: BASP)
  peer_counters* peer = nullptr; ///< at a peer: its counters (per_peer)
  status_code status = status_code::ok;
  std::chrono::microseconds duration{0};
};

/// A request in the pipeline's execute step, kept until it is answered
/// exactly once.
struct pipeline_call {
  caf::response_promise promise;
  /// Decision records are kept for this request (the caller asked, or its
  /// trace id is in the sample): set once, passed on to every peer.
  bool traced = false;
  pb::DispatchRequest request; ///< routing fields (the payload moves on)
  caf::message sent;           ///< the Serve request, shared: for retries
  std::shared_ptr<const policy_set> policies; ///< keeps `pol` alive
  const policy* pol = nullptr;
  /// "ns/Service", the outlier key, once the call goes to a peer: shared
  /// for a service peers serve, else the call's own (name_service).
  const std::string* shared_service = nullptr;
  std::string own_service;
  bool has_service() const {
    return shared_service != nullptr || !own_service.empty();
  }
  const std::string& service() const {
    return shared_service != nullptr ? *shared_service : own_service;
  }
  retry_budget* budget = nullptr; ///< the policy's, set by start()
  std::vector<call_attempt> attempts;
  std::vector<std::string> hooks_run;
  std::vector<std::pair<std::string, std::string>> skipped;
  router_clock::time_point started;
  router_clock::time_point deadline;
  /// When a backed-off retry is due (max: none waiting).
  router_clock::time_point retry_at = router_clock::time_point::max();
  /// When the hedge goes out (max: no hedge).
  router_clock::time_point hedge_at = router_clock::time_point::max();
  uint32_t max_attempts = 1;
  bool idempotent = false;
  bool targeted = false; ///< the caller named the node: no retries
  bool local = false;    ///< runs at this node's executor
  bool explain = true;   ///< build the explanation (off: bypassed pipeline)
  bool hedging = false;  ///< a hedge may go out
  bool retry_budgeted = false; ///< the waiting retry holds a budget slot
  /// The last failed attempt's answer: what the caller gets when no other
  /// attempt can be made.
  status_code last_code = status_code::unavailable;
  std::string last_message;
  std::string last_node;

  size_t outstanding() const {
    return static_cast<size_t>(std::count_if(
      attempts.begin(), attempts.end(), [](const auto& a) { return a.out; }));
  }
  bool has_tried(std::string_view id) const {
    return std::any_of(attempts.begin(), attempts.end(),
                       [id](const auto& a) { return a.node == id; });
  }
  /// The earliest moment the sweep must look at this call.
  router_clock::time_point wake() const;
};

/// Attempts waiting to leave for one peer in one batch.
struct peer_outbox {
  std::string node;
  caf::actor to;
  pb::ServeBatch batch;
  size_t bytes = 0;
  /// A batch written to a data link up to this size is cleared and reused
  /// (its requests stay allocated); a larger one is dropped.
  static constexpr size_t reuse_max_bytes = 64 * 1024;
  /// A reused batch's refs and payloads (Clear() would free them), for the
  /// next requests: at most a batch's worth, none over spare_payload_bytes.
  std::vector<std::unique_ptr<pb::ServiceRef>> spare_refs;
  std::vector<std::unique_ptr<google::protobuf::Any>> spare_payloads;
  static constexpr size_t spare_payload_bytes = 1024;
};

/// The tag of an attempt in a batch: (call id, attempt index); an answer
/// whose call or attempt is gone (or was at another peer) is ignored.
inline constexpr unsigned tag_index_bits = 16;

/// A peer chosen for an attempt, and whether it is the probe of an ejected
/// one.
struct chosen_peer {
  const peer_route* peer = nullptr;
  bool probe = false;
};

struct router_state {
  static inline const char* name = actor_names::request_router;
  using clock = router_clock;

  router_actor::pointer self = nullptr;
  router_config cfg;
  std::shared_ptr<spdlog::logger> log;
  handler_table_ptr table = std::make_shared<handler_table>();
  peer_table_ptr peers = std::make_shared<peer_table>();
  std::unique_ptr<load_balancer> balancer;
  bool draining = false;
  std::vector<caf::response_promise> drain_waiters;

  // The pipeline's state.
  std::shared_ptr<const policy_set> policies;
  outlier_detector outliers;
  /// "ns/Service" for each (ns, Service) some peer serves, made once (the
  /// outlier key); grows only with what peers register.
  std::map<std::string, std::map<std::string, std::string, std::less<>>,
           std::less<>>
    service_names;
  /// choose()'s lists, kept between calls (it runs for every remote call).
  std::vector<const peer_route*> up_scratch, suspect_scratch, probe_scratch,
    ejected_scratch;
  std::vector<peer_candidate> load_scratch;
  std::map<std::string, retry_budget, std::less<>> budgets;   ///< by policy
  std::map<std::string, rate_limiter, std::less<>> limiters;  ///< by policy
  std::mt19937_64 rng;

  /// A call id unique in the process, not only in this router: a batch's
  /// late replies to a router that was restarted must not match a call of
  /// its successor (tags carry the id; see router_outbox.cpp).
  static uint64_t new_call_id() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }
  std::unordered_map<uint64_t, pipeline_call> calls;
  sweep_timer<clock> sweeps; ///< one timer for every call's wake-up
  /// By peer id, never erased: attempts keep a pointer to theirs.
  std::unordered_map<std::string, peer_counters> per_peer;
  std::unordered_map<std::string, peer_outbox> outboxes; ///< by peer id
  bool flush_pending = false;
  /// Off (MESH_PEER_BATCHING=0): one request per attempt, as before issue
  /// 16, to measure the difference or rule batching out.
  bool batching = true;
  std::set<caf::actor_addr> monitored; ///< peer ingresses we sent batches

  // However the router ends, every request it holds gets its answer.
  ~router_state() {
    auto who = "the router of node " + cfg.node_id;
    for (auto& [id, call] : calls)
      answer_unanswered(call.promise, who);
    for (auto& w : drain_waiters)
      answer_unanswered(w, who);
  }

  // counters
  uint64_t served = 0, dispatched = 0, forwarded = 0, rejected = 0,
           retried = 0, failed_over = 0, hedged = 0, hedge_wins = 0,
           hedge_dropped = 0, rate_limited = 0, hook_rejected = 0,
           ejections = 0, dry_runs = 0, budget_exhausted = 0;
  uint64_t batches = 0, batched = 0; ///< to peers: messages, attempts in them
  uint64_t data_batches = 0;         ///< of those, sent on a data link

  /// The time of the message being handled: the clock is read once per
  /// message (a remote dispatch asked it six times, 5 % of a node's CPU on
  /// this VM's kvm-clock). router_actor_impl::consume forgets it between
  /// messages; durations measured inside one message use read_clock().
  clock::time_point now() const {
    if (!clock_read)
      read_clock();
    return message_time;
  }

  /// Reads the clock (CAF's, so tests' simulated time) and keeps the time
  /// for this message's later now().
  clock::time_point read_clock() const {
    // Without an actor (micro benchmarks): the real clock.
    message_time = self != nullptr ? self->clock().now() : clock::now();
    clock_read = self != nullptr;
    return message_time;
  }

  mutable clock::time_point message_time;
  mutable bool clock_read = false;

  // -- request_router.cpp ----------------------------------------------------
  template <class Request>
  request_problem admit(Request& req);
  /// The handler that runs `req` here (null: refused, why in `problem`);
  /// `found`: the route local_handler already found (only the validator's
  /// check is left).
  template <class Request>
  const handler_route* local_route(const Request& req,
                                   request_problem& problem,
                                   const handler_route* found = nullptr) const;
  /// The handler of `req` if this node serves its namespace and has one.
  const handler_route* local_handler(const pb::DispatchRequest& req) const;
  /// A Serve's admission and local route (null: refused, why in `p`); here
  /// with the templates it instantiates.
  const handler_route* serve_route(pb::ServeRequest& req, request_problem& p);
  caf::result<pb::DispatchResponse> dispatch(pb::DispatchRequest& req);
  request_problem no_route(const pb::DispatchRequest& req) const;
  pb::DispatchResponse reject(const request_problem& p,
                              const std::string& trace_id);
  nlohmann::json stats() const;
  void check_drained();
  /// The execute step: local handler, named target, or a chosen peer.
  caf::result<pb::DispatchResponse> execute(pipeline_call&& call);

  // -- router_pipeline.cpp ---------------------------------------------------
  /// Directives, policy, context and pre-hooks; then the execute step.
  caf::result<pb::DispatchResponse> run_pipeline(pb::DispatchRequest& req);
  /// Runs the policy's pre-hooks (those not skipped); a problem rejects.
  request_problem run_pre_hooks(pipeline_call& call);
  /// Post-hooks and the explanation, then the answer.
  void complete(pipeline_call& call, pb::DispatchResponse& r);
  void explain(const pipeline_call& call, pb::DispatchResponse& r) const;
  /// The dry run's answer: who would run the request, and why.
  pb::DispatchResponse dry_run(pipeline_call& call);
  /// Takes a new policy set (from a reload).
  void set_policies(std::shared_ptr<const policy_set> set);
  nlohmann::json policies_json(const std::string& name,
                               request_problem& problem) const;
  nlohmann::json breakers_json() const;
  /// 1: "ns/Service/Method" is idempotent here or on a peer serving it;
  /// 0: it is not; -1: nobody known serves it.
  int32_t idempotency(const std::string& path) const;
  nlohmann::json reload_policies();

  // -- router_remote.cpp -----------------------------------------------------
  /// Peers that can take the call now: up ones before suspect ones, ejected
  /// ones skipped (noted in call.skipped) unless none would be left.
  chosen_peer choose(pipeline_call& call, bool mark_probe = true);
  /// Sets call.service() (see pipeline_call) unless it is set; `served`:
  /// some peer serves the call's method.
  void name_service(pipeline_call& call, bool served);
  /// Starts the execute step of a call (local executor or a peer).
  void start(uint64_t id, pipeline_call&& call, const peer_route* peer,
             caf::actor local_executor, bool probe = false);
  void send_attempt(uint64_t id, pipeline_call& call, const std::string& node,
                    caf::actor to, bool probe, bool hedge);
  void on_reply(uint64_t id, size_t attempt, pb::ServeResponse& r);
  void on_error(uint64_t id, size_t attempt, const caf::error& err);
  /// An attempt ended with a failure worth another try: retries (now or
  /// after the backoff), waits for another attempt still out, or answers
  /// with the failure.
  void attempt_failed(uint64_t id, pipeline_call& call, status_code code,
                      std::string message, bool retryable);
  /// How many peers serve the call's method (the outlier detector's cap).
  size_t serving_count(const pipeline_call& call) const;
  /// Marks an attempt over, with its counters, budget and outlier record.
  void end_attempt(pipeline_call& call, call_attempt& a, status_code code);
  /// Schedules a retry within max_attempts, the deadline and the budget;
  /// false when none may be made.
  bool retry(uint64_t id, pipeline_call& call);
  /// Sends a scheduled retry to a peer not tried yet; false when none.
  bool launch_retry(uint64_t id, pipeline_call& call);
  void hedge(uint64_t id, pipeline_call& call);
  /// Answers with the last failure (no attempt left).
  void give_up(uint64_t id, pipeline_call& call);
  void sweep_call(uint64_t id, clock::time_point t);
  void finish(uint64_t id, pb::DispatchResponse&& r);
  void finish(uint64_t id, status_code code, std::string message);
  void peers_changed(peer_table_ptr table);

  // -- router_outbox.cpp: batches to peers -----------------------------------
  /// The outbox of `node`. enqueue_slot() adds a request (about `bytes`
  /// large) for the caller to fill in; then enqueued() tags it as attempt
  /// `index` of call `id` and sends the outbox when it should leave.
  peer_outbox& outbox_of(const std::string& node);
  pb::ServeRequest& enqueue_slot(peer_outbox& box, const caf::actor& to,
                                 size_t bytes);
  void enqueued(peer_outbox& box, uint64_t id, size_t index);
  void flush(peer_outbox& box);
  /// Every outbox leaves (the flush message, or an empty mailbox).
  void flush_all();
  /// A peer's answers to our batches, by tag.
  void on_replies(const std::string& peer, pb::ServeReplies& r);
  /// Sends `box` on the open data link to its peer; false when there is
  /// none (it goes by BASP).
  bool send_on_link(peer_outbox& box);
  /// Our data link `link` to `peer` failed: the attempts it carried failed.
  void link_down(const std::string& peer, uint64_t link);
  /// A peer ingress we sent batches to is gone: its attempts failed.
  void ingress_down(const caf::actor_addr& who, const caf::error& reason);
  /// One timer for the earliest moment a call needs attention (deadline,
  /// per-try timeout, hedge, backoff), not one per request.
  void arm_sweep(clock::time_point when);
  void sweep();

  // -- router_serve.cpp: a peer's Serve, alone or a whole batch -------------
  caf::result<pb::ServeResponse> serve(pb::ServeRequest& req);
  /// serve()'s steps, shared with serve_batch: the refusal, the inline
  /// call (admission and the route: serve_route, above).
  pb::ServeResponse refuse_serve(const pb::ServeRequest& req,
                                 const request_problem& p);
  pb::ServeResponse serve_inline(inline_call& fast,
                                 const pb::ServeRequest& req);
  /// Runs the requests of `in` with an inline handler and answers the
  /// refused ones into `out` (tagged as `in` tagged them); those that need
  /// an executor go to `rest` untouched. Each request lands in one of both.
  void serve_batch(pb::ServeBatch& in, pb::ServeReplies& out,
                   pb::ServeBatch& rest);

  // -- router_trace.cpp: decision records (only when tracing) ----------------
  bool traced(const pipeline_call& call) const {
    return call.traced;
  }
  /// The policy applied and the pre-hooks run.
  void trace_pipeline(const pipeline_call& call);
  /// Where the first attempt goes and why ("local", "target", "balanced",
  /// "probe"), with the candidates it was chosen from.
  void trace_route(const pipeline_call& call, const std::string& node,
                   const char* why);
  /// A retry or a hedge just sent (the call's last attempt).
  void trace_attempt(const pipeline_call& call, const char* step);
  /// The answer the caller gets, with every attempt and the total time.
  void trace_result(const pipeline_call& call, const pb::DispatchResponse& r);
  /// This node runs a request for `origin` (serve), or ran it inline.
  void trace_serve(const pb::ServeRequest& req, bool inline_call);
  void trace_inline(const std::string& trace_id, const pb::ServiceRef& ref,
                    int32_t code, std::chrono::microseconds took);
};

/// The router's actor: its state's clock is read at most once per message
/// (router_state::now), so each message starts without a time.
class router_actor_impl
  : public caf::stateful_actor<router_state, router_actor::base> {
public:
  using super = caf::stateful_actor<router_state, router_actor::base>;
  using super::super;

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    this->state.clock_read = false;
    return super::consume(x);
  }
};

} // namespace mesh::detail
