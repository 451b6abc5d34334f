#pragma once

// Private to the request router: its state, shared by request_router.cpp
// (admission, local execution, the routing decision) and router_remote.cpp
// (forwarding to peers, retries, failover, deadlines).

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/handlers/handler_table.hpp"
#include "actors/cluster/peer_table.hpp"
#include "protocol/request_checks.hpp"
#include "actors/routing/request_router.hpp"
#include "actors/guarded_promise.hpp"
#include "cluster/load_balancer.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh::detail {

/// A dispatch forwarded to a peer, kept until it is answered exactly once.
struct remote_call {
  caf::response_promise promise;
  pb::DispatchRequest request; ///< routing fields (the payload moves on)
  caf::message sent;           ///< the Serve request, shared: for retries
  std::string peer;            ///< where the current attempt went
  uint32_t attempt = 0;
  std::chrono::steady_clock::time_point deadline;
  bool idempotent = false;
  bool targeted = false;       ///< the caller named the node: no retries
  std::vector<std::string> tried; ///< peers already asked (usually one)

  bool has_tried(std::string_view id) const {
    return std::find(tried.begin(), tried.end(), id) != tried.end();
  }
};

struct router_state {
  static inline const char* name = "mesh.request_router";
  using clock = std::chrono::steady_clock;

  router_actor::pointer self = nullptr;
  router_config cfg;
  std::shared_ptr<spdlog::logger> log;
  handler_table_ptr table = std::make_shared<handler_table>();
  peer_table_ptr peers = std::make_shared<peer_table>();
  std::unique_ptr<load_balancer> balancer;
  bool draining = false;
  std::vector<caf::response_promise> drain_waiters;

  uint64_t next_call = 1;
  std::unordered_map<uint64_t, remote_call> remote;
  bool sweep_pending = false;
  clock::time_point sweep_at;
  std::unordered_map<std::string, size_t> in_flight; ///< by peer id

  // However the router ends, every request it forwarded gets its answer.
  ~router_state() {
    auto who = "the router of node " + cfg.node_id;
    for (auto& [id, call] : remote)
      answer_unanswered(call.promise, who);
    for (auto& w : drain_waiters)
      answer_unanswered(w, who);
  }

  // counters
  uint64_t served = 0, dispatched = 0, forwarded = 0, rejected = 0,
           retried = 0, failed_over = 0;

  clock::time_point now() const {
    return self->clock().now();
  }

  // -- request_router.cpp ----------------------------------------------------
  template <class Request>
  request_problem admit(Request& req);
  template <class Request>
  const handler_route* local_route(const Request& req,
                                   request_problem& problem) const;
  bool has_local(const pb::DispatchRequest& req) const;
  caf::result<pb::ServeResponse> serve(pb::ServeRequest& req);
  caf::result<pb::DispatchResponse> dispatch(pb::DispatchRequest& req);
  request_problem no_route(const pb::DispatchRequest& req) const;
  pb::DispatchResponse reject(const request_problem& p,
                              const std::string& trace_id);
  nlohmann::json stats() const;
  void check_drained();

  // -- router_remote.cpp -----------------------------------------------------
  /// Peers that can take `req` now, up ones before suspect ones.
  std::vector<const peer_route*>
  candidates(const pb::DispatchRequest& req,
             const remote_call* exclude = nullptr) const;
  /// Forwards to `peer`; the reply reaches the caller through `promise`.
  void forward(pb::DispatchRequest&& req, const peer_route& peer,
               bool targeted);
  void send_attempt(uint64_t id, remote_call& call, const peer_route& peer);
  void on_reply(uint64_t id, uint32_t attempt, pb::ServeResponse& r);
  void on_error(uint64_t id, uint32_t attempt, const caf::error& err);
  /// Tries another peer; false when none can take the call.
  bool retry(uint64_t id, remote_call& call);
  void finish(uint64_t id, pb::DispatchResponse&& r);
  void finish(uint64_t id, status_code code, std::string message);
  void peers_changed(peer_table_ptr table);
  /// One timer for the earliest deadline (not one per request): answers
  /// calls whose peer stayed silent past their deadline.
  void arm_sweep(clock::time_point when);
  void sweep();
};

} // namespace mesh::detail
