#pragma once

// The state of one handler executor (handler_executor.cpp holds its
// behaviour): the calls it runs and queues, their deadlines, its counters.
// Its own header so the bookkeeping (handler_executor_state.cpp) and the
// message handlers stay two small files.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/handlers/handler_executor.hpp"
#include "actors/sweep_timer.hpp"
#include "telemetry/latency_histogram.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace mesh::detail {

using executor_clock = std::chrono::steady_clock;

/// One call the executor holds: queued, running, or answered (deadline
/// passed) while its handler still runs.
struct executor_call {
  uint64_t id = 0;
  caf::response_promise promise;
  bool reply_as_dispatch = false;
  call_context ctx;
  google::protobuf::Any payload;
  executor_clock::time_point received;
  bool answered = false;
  bool traced = false; ///< keep a decision record (the request says so)
};

struct executor_state {
  static inline const char* name = "mesh.handler_executor";

  executor_actor::pointer self = nullptr;
  executor_config cfg;
  job_runner_ptr runner;
  std::shared_ptr<spdlog::logger> log;

  uint64_t next_id = 1;
  std::deque<executor_call> queued;
  std::unordered_map<uint64_t, executor_call> running;
  size_t running_unanswered = 0;
  sweep_timer<executor_clock> sweeps; ///< one timer for every deadline
  std::vector<caf::response_promise> drain_waiters;
  bool retiring = false;

  // counters
  uint64_t calls = 0, ok = 0, failed = 0, timeouts = 0, rejected = 0;
  uint64_t late_results = 0;
  latency_histogram latency;

  size_t pending() const {
    return queued.size() + running_unanswered;
  }

  /// However the executor ends, every call it holds gets its answer.
  ~executor_state();

  /// The actor clock, not the system clock: deterministic tests advance it.
  executor_clock::time_point now() const {
    return self->clock().now();
  }

  std::chrono::milliseconds deadline_budget(uint32_t requested_ms) const;

  void count(status_code code);

  /// A call: run at once on the fast path (non-blocking handlers), else
  /// accepted (run, queued or refused) and answered later.
  template <class Response, class Request>
  caf::result<Response> handle(const Request& req, bool as_dispatch) {
    if (cfg.fast && !retiring && !cfg.fast->demoted())
      return cfg.fast->run<Response>(req);
    accept(make_call(req, as_dispatch));
    return caf::delegated<Response>{};
  }

  executor_call make_call(const pb::ServeRequest& req, bool as_dispatch);
  executor_call make_call(const pb::DispatchRequest& req, bool as_dispatch);

  /// Runs `call`, queues it, or refuses it (retiring, overloaded).
  void accept(executor_call call);

  void start(executor_call call);
  void completed(uint64_t id, handler_outcome out);
  void start_queued();
  void finish(executor_call& call, handler_outcome out);
  handler_outcome expired_outcome(const executor_call& call) const;

  /// One timer at a time, set for the earliest deadline: cheap under load.
  void arm_sweep(executor_clock::time_point deadline);
  void sweep();
  void check_drained();

  nlohmann::json stats() const;
};

} // namespace mesh::detail
