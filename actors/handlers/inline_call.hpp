#pragma once

// The fast path of a non-blocking handler: called by the request router on
// its own thread (no hop to an executor, no hop to a worker thread), with the
// handler's counters and latency kept here, where the handler's executor
// reads them for reports. Thread-safe: every call and every read takes one
// uncontended mutex.
//
// A handler declared non-blocking that blocks holds the router (and the
// data plane's thread, where the router runs there) for as long: a second
// call of inline_stall or more within a minute of the first
// (stall_counter.hpp) demotes it for good, and from then on its executor
// runs it on threads of its own, as any blocking handler.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/handlers/handler.hpp"
#include "actors/handlers/stall_counter.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/latency_histogram.hpp"

namespace mesh {

/// Fills ctx.task from a request that delivers a durable task (and clears
/// it for one that does not: contexts are reused).
void set_task_context(call_context& ctx, const pb::TaskInfo& info,
                      bool has_task, const task_heartbeat_sink& sink);

/// A call on the fast path this long is a stall (see above).
inline constexpr std::chrono::milliseconds inline_stall{100};

class inline_call {
public:
  using clock = std::chrono::steady_clock;

  inline_call(service_key key, any_handler fn, std::string node_id,
              std::chrono::milliseconds default_deadline,
              std::chrono::milliseconds max_deadline);

  /// Runs the handler for a ServeRequest or DispatchRequest and builds the
  /// matching response. A call that overran its deadline is answered
  /// deadline_exceeded (it could not be interrupted).
  template <class Response, class Request>
  Response run(const Request& req) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto started = clock::now();
    auto budget = budget_of(req.deadline_ms());
    ctx_.trace_id = req.trace_id();
    ctx_.origin_node = req.origin_node();
    ctx_.hops = req.hops();
    set_task_context(ctx_, req.task(), req.has_task(), heartbeat_);
    ctx_.context.clear();
    for (const auto& [k, v] : req.context())
      ctx_.context.emplace(k, v);
    ctx_.deadline = started + budget;
    auto out = run_handler(fn_, ctx_, req.payload());
    finish(out, clock::now() - started, budget);
    Response r;
    r.mutable_status()->set_code(static_cast<pb::StatusCode>(out.code));
    if (out.code != status_code::ok)
      r.mutable_status()->set_message(std::move(out.message));
    *r.mutable_payload() = std::move(out.payload);
    set_node(r);
    r.set_trace_id(req.trace_id());
    return r;
  }

  /// Where ctx.heartbeat() of task deliveries goes.
  void set_heartbeat(task_heartbeat_sink sink) {
    heartbeat_ = std::move(sink);
  }

  /// Whether it blocked twice (stall_counter.hpp): its executor runs it
  /// from now on.
  bool demoted() const noexcept {
    return demoted_.load(std::memory_order_relaxed);
  }

  /// Counts a call its executor ran (after the demotion), so the counters
  /// stay in one place.
  void record(status_code code, clock::duration elapsed);

  /// Counters and latency, as the executor reports them.
  nlohmann::json stats() const;

private:
  std::chrono::milliseconds budget_of(uint32_t requested_ms) const;
  void finish(handler_outcome& out, clock::duration elapsed,
              std::chrono::milliseconds budget);
  void set_node(pb::DispatchResponse& r) const {
    r.set_handled_by(ctx_.node_id);
  }
  void set_node(pb::ServeResponse& r) const {
    r.set_executor_id(ctx_.node_id);
  }

  mutable std::mutex mtx_;
  any_handler fn_;
  call_context ctx_; ///< reused: one call at a time
  task_heartbeat_sink heartbeat_;
  std::chrono::milliseconds default_deadline_;
  std::chrono::milliseconds max_deadline_;
  void count(status_code code, clock::duration elapsed);

  uint64_t calls_ = 0, ok_ = 0, failed_ = 0, timeouts_ = 0;
  stall_counter stalls_;
  std::atomic<bool> demoted_{false};
  latency_histogram latency_;
};

using inline_call_ptr = std::shared_ptr<inline_call>;

} // namespace mesh
