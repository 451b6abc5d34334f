#pragma once

// Hooks of the dispatch pipeline (seed 003's hook manager): named functions
// run before (pre) and after (post) a request executes. A policy lists the
// hooks its requests run, in order; a request may skip some by name.
//
// A pre-hook sees the request and may reject it (its status and message
// reach the caller) or add to the request's context (key/value pairs the
// handler sees). A pre-hook that throws rejects with handler_error naming
// the hook. A post-hook sees the outcome; what it returns or throws is
// logged and counted and never changes the answer.
//
// Hooks run on the router's thread: they must be quick and never block
// (hand slow work to another thread, as the built-in audit hook does with
// its file).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/status.hpp"

namespace mesh {

enum class hook_stage { pre, post };

const char* to_string(hook_stage s);

/// What a hook sees of a request.
struct hook_call {
  hook_stage stage = hook_stage::pre;
  std::string trace_id;
  std::string path;   ///< "ns/Service/Method"
  std::string caller; ///< the node that accepted the request
  std::string node;   ///< this node
  std::string policy; ///< the policy applied
  /// Key/value pairs that travel with the request to its handler
  /// (call_context::context); pre-hooks may add to them.
  std::map<std::string, std::string> context;

  // The outcome (post-hooks only).
  status_code status = status_code::ok;
  std::string message;
  std::string handled_by; ///< node whose handler ran (empty: none)
  uint32_t attempts = 0;
  std::chrono::microseconds duration{0};
};

/// A hook's answer: ok, or (pre-hooks) a rejection.
struct hook_verdict {
  status_code code = status_code::ok;
  std::string message;

  static hook_verdict pass() { return {}; }
  static hook_verdict reject(status_code c, std::string why) {
    return {c, std::move(why)};
  }
  bool ok() const { return code == status_code::ok; }
};

using hook_fn = std::function<hook_verdict(hook_call&)>;

/// One registered hook and its counters (updated from the router's thread,
/// read from anywhere).
struct hook_entry {
  std::string name;
  hook_stage stage = hook_stage::pre;
  hook_fn fn;
  bool builtin = false;
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> rejected{0}; ///< pre-hooks that said no
  std::atomic<uint64_t> failed{0};   ///< threw (or a post-hook said no)
  std::atomic<uint64_t> total_us{0};

  /// Runs the hook, counting; never throws. A throw becomes handler_error
  /// "hook NAME failed: what".
  hook_verdict run(hook_call& call);
};

using hook_entry_ptr = std::shared_ptr<hook_entry>;

/// The hooks a node knows: built-ins and those plug-ins add. Thread-safe.
class hook_table {
public:
  /// Adds a hook; throws std::invalid_argument for an empty, malformed or
  /// duplicate name or an empty function.
  void add(std::string name, hook_stage stage, hook_fn fn,
           bool builtin = false);

  /// By name, or null.
  hook_entry_ptr find(const std::string& name) const;

  /// Every hook, by name.
  std::vector<hook_entry_ptr> all() const;

  /// Bumped on every add (callers cache lookups by it).
  uint64_t version() const noexcept { return version_.load(); }

  /// Rows for `meshctl hooks`: name, stage, builtin, calls, rejected,
  /// failed, mean_us.
  nlohmann::json to_json() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, hook_entry_ptr> hooks_;
  std::atomic<uint64_t> version_{0};
};

using hook_table_ptr = std::shared_ptr<hook_table>;

/// Where the built-in audit hook writes: one JSON line per request (trace
/// id, path, caller, node, policy, status, duration_us, attempts,
/// handled_by). An empty file: the "audit" logger at info.
struct audit_settings {
  std::string file;
};

/// What the built-in "metrics" hook keeps: per path, requests by status and
/// their latency. Thread-safe.
class path_metrics {
public:
  void record(const hook_call& call);

  /// {"ns/S/M": {"requests": n, "statuses": {"ok": n, ...}, "latency":
  /// latency_histogram::to_json()}, ...}
  nlohmann::json to_json() const;

private:
  struct entry;
  mutable std::mutex mtx_;
  std::map<std::string, std::shared_ptr<entry>> paths_;
};

using path_metrics_ptr = std::shared_ptr<path_metrics>;

/// Adds the built-in post-hooks "audit" and "metrics" (which records into
/// `metrics`). Throws std::runtime_error when the audit file cannot be
/// opened for appending (naming it).
void add_builtin_hooks(hook_table& table, const audit_settings& audit,
                       path_metrics_ptr metrics);

} // namespace mesh
