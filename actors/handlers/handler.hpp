#pragma once

// The contract between Mesh and user handler code: what a handler receives,
// what it returns, and how it reports failure. Three forms are accepted:
// - a function: (call_context, google::protobuf::Any) -> caf::expected<Any>;
// - a JSON function: (call_context, nlohmann::json) -> nlohmann::json;
// - a CAF actor that handles `(mesh::atom::handle, mesh::pb::ServeRequest)`
//   and replies with a google::protobuf::Any (or a caf::error). The node
//   owns it from then on: it is stopped when its handler is removed or the
//   node stops.
// Function handlers run on the handler's own worker threads, never on CAF's
// scheduler threads, so they may block (unless declared non_blocking, which
// trades that for the cost of a thread hand-off per call). They may throw: `handler_failure`
// answers with its status, anything else with `handler_error`. Error text is
// redacted (telemetry/redact.hpp) before it leaves the node.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <caf/config.hpp>
CAF_PUSH_WARNINGS
#include <google/protobuf/any.pb.h>
CAF_POP_WARNINGS

#include "protocol/service_key.hpp"
#include "protocol/status.hpp"

namespace mesh {

/// The durable task a call delivers (seed 002), when it delivers one.
struct task_context {
  std::string id;            ///< the idempotency key
  uint32_t attempt = 0;      ///< 1 for the first delivery
  int64_t lease_deadline_ms = 0; ///< wall clock, ms since the epoch
  std::string queue_node;    ///< the node holding the task's queue
  std::string job;
  std::string dataset;
  int64_t cursor = 0;
  std::string partition;
};

/// Tells the queue node that a task is still running (set by the node).
using task_heartbeat_sink = std::function<void(const task_context&)>;

/// What a handler knows about the call it serves.
struct call_context {
  service_key key;
  std::string trace_id;
  std::string node_id;      ///< the node running the handler
  std::string origin_node;  ///< the node that accepted the request
  uint32_t hops = 0;        ///< nodes crossed before this one
  std::chrono::steady_clock::time_point deadline;

  /// Key/value pairs the dispatch pipeline's pre-hooks added (e.g. the
  /// caller's identity an auth hook established).
  std::map<std::string, std::string> context;

  task_context task;         ///< empty id: the call delivers no task
  task_heartbeat_sink beat;  ///< set when it does

  /// Time left before the caller stops waiting (zero when past).
  std::chrono::milliseconds remaining() const;
  bool expired() const { return remaining().count() <= 0; }

  /// True when this call delivers a durable task.
  bool is_task() const { return !task.id.empty(); }

  /// Extends the task's lease (by the job's lease_ms, from now), from any
  /// node; call it more often than the job's heartbeat_ms. Does nothing
  /// when the call delivers no task. Never blocks.
  void heartbeat() const {
    if (beat && is_task())
      beat(task);
  }
};

/// Throw from a handler to answer with a specific status, e.g.
/// `throw handler_failure(status_code::not_found, "no user 42")`.
class handler_failure : public std::runtime_error {
public:
  handler_failure(status_code code, const std::string& message)
    : std::runtime_error(message), code_(code) {}
  status_code code() const noexcept { return code_; }

private:
  status_code code_;
};

using any_handler = std::function<caf::expected<google::protobuf::Any>(
  const call_context&, const google::protobuf::Any&)>;

using json_handler
  = std::function<nlohmann::json(const call_context&, const nlohmann::json&)>;

/// Per-handler settings; zero means "the node's default".
struct handler_options {
  bool idempotent = false;       ///< safe to retry on another node
  size_t max_concurrency = 0;    ///< handler calls running at once
  size_t max_queue = 0;          ///< calls waiting for a free slot
  std::chrono::milliseconds max_deadline{0}; ///< caps the caller's deadline
  /// The handler never blocks (no I/O, no locks held long, no sleeps): it
  /// then runs on its executor actor itself, without a hop to a worker
  /// thread, one call at a time. For function and JSON handlers only; a
  /// non-blocking handler that blocks stalls a scheduler thread.
  bool non_blocking = false;
  std::string description;
};

enum class handler_kind : uint8_t { function, json, actor };

const char* to_string(handler_kind x) noexcept;

/// Everything needed to register one handler.
struct handler_spec {
  service_key key;
  handler_kind kind = handler_kind::function;
  any_handler fn;   ///< for function and JSON handlers
  caf::actor actor; ///< for actor handlers
  handler_options options;
};

handler_spec make_function_handler(service_key key, any_handler fn,
                                   handler_options opts = {});
handler_spec make_json_handler(service_key key, json_handler fn,
                               handler_options opts = {});
handler_spec make_actor_handler(service_key key, caf::actor actor,
                                handler_options opts = {});

/// The result of one handler call, as the executor sees it.
struct handler_outcome {
  status_code code = status_code::ok;
  std::string message;
  google::protobuf::Any payload;
};

/// Runs `fn` and turns every way it can end into an outcome: a value, a
/// returned error, a `handler_failure`, any other exception. Error text is
/// redacted and prefixed with the handler and node ("handler users/User
/// Service/GetUser on node-1 failed: ...").
handler_outcome run_handler(const any_handler& fn, const call_context& ctx,
                            const google::protobuf::Any& payload);

/// Turns an error from a handler (function result or actor reply) into an
/// outcome with a redacted message naming the handler and node.
handler_outcome outcome_from_error(const caf::error& err,
                                   const call_context& ctx);

} // namespace mesh
