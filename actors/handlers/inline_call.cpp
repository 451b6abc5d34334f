#include "actors/handlers/inline_call.hpp"

#include "telemetry/log.hpp"

namespace mesh {

void set_task_context(call_context& ctx, const pb::TaskInfo& info,
                      bool has_task, const task_heartbeat_sink& sink) {
  if (!has_task) {
    ctx.task = task_context{};
    ctx.beat = nullptr;
    return;
  }
  ctx.task.id = info.task_id();
  ctx.task.attempt = info.attempt();
  ctx.task.lease_deadline_ms = info.lease_deadline_ms();
  ctx.task.queue_node = info.queue_node();
  ctx.task.job = info.job();
  ctx.task.dataset = info.dataset();
  ctx.task.cursor = info.cursor();
  ctx.task.partition = info.partition();
  ctx.beat = sink;
}

inline_call::inline_call(service_key key, any_handler fn, std::string node_id,
                         std::chrono::milliseconds default_deadline,
                         std::chrono::milliseconds max_deadline)
  : fn_(std::move(fn)),
    default_deadline_(default_deadline),
    max_deadline_(max_deadline) {
  ctx_.key = std::move(key);
  ctx_.node_id = std::move(node_id);
}

std::chrono::milliseconds inline_call::budget_of(uint32_t requested_ms) const {
  auto budget = requested_ms == 0 ? default_deadline_
                                  : std::chrono::milliseconds{requested_ms};
  return std::min(budget, max_deadline_);
}

void inline_call::finish(handler_outcome& out, clock::duration elapsed,
                         std::chrono::milliseconds budget) {
  if (elapsed > budget)
    out = {status_code::deadline_exceeded,
           "handler " + to_string(ctx_.key) + " on " + ctx_.node_id
             + " did not answer within " + std::to_string(budget.count())
             + " ms",
           {}};
  count(out.code, elapsed);
  if (elapsed < inline_stall || demoted() || !stalls_.second(clock::now()))
    return;
  demoted_.store(true, std::memory_order_relaxed);
  log::get("executor")
    ->warn("handler {} is declared non-blocking but held its caller's "
           "thread (the router's) for {} ms, twice within {} s: it runs on "
           "threads of its own from now on",
           to_string(ctx_.key),
           std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
             .count(),
           stall_window.count());
}

void inline_call::record(status_code code, clock::duration elapsed) {
  std::lock_guard<std::mutex> guard{mtx_};
  count(code, elapsed);
}

void inline_call::count(status_code code, clock::duration elapsed) {
  ++calls_;
  if (code == status_code::ok)
    ++ok_;
  else if (code == status_code::deadline_exceeded)
    ++timeouts_;
  else if (code != status_code::overloaded) // as the executor counts
    ++failed_;
  latency_.record(static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
}

nlohmann::json inline_call::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {{"calls", calls_},
          {"ok", ok_},
          {"errors", failed_},
          {"timeouts", timeouts_},
          {"demoted", demoted()},
          {"latency", latency_.to_json()}};
}

} // namespace mesh
