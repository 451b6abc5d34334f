#pragma once

// trace_ring: the decisions one node made, kept by trace id, so that
// `meshctl trace ID` can explain a request after the fact.
//
// Every actor of a node that decides something about a request (the router:
// where it runs and why, each retry and hedge, the result; the evaluator:
// which variant; the topic dispatcher: which dispatchers and nodes; the task
// dispatcher and the workflow runner: each task and step) adds one record
// under the request's trace id. The ring keeps the newest `capacity` traces
// (the oldest trace is dropped whole when a new one arrives) and at most
// `per_trace` records of one trace (later ones are counted, not kept), so its
// memory is bounded whatever the traffic. Capacity 0 turns it off: callers
// test `enabled()` (or `tracing(ptr)`) first and build no string at all.
//
// Thread-safe (one mutex): the node's actors share one ring, and a peer's
// ingress reads it to answer a cluster-wide `trace`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh {

/// One decision: where, when, which step, what was decided (one line for a
/// human) and the facts behind it (for tools).
struct trace_record {
  std::string node;
  int64_t time_us = 0; ///< unix time, microseconds
  std::string step;    ///< route, serve, execute, result, pipeline, retry, ...
  std::string decision;
  nlohmann::json detail = nlohmann::json::object();
  int64_t duration_us = 0;

  /// {"node", "time_us", "step", "decision", "detail", "duration_us"}.
  nlohmann::json to_json() const;
};

class trace_ring {
public:
  static constexpr size_t default_capacity = 10000;
  static constexpr size_t default_per_trace = 256;
  /// Records kept on average per trace: a new trace evicts old ones while
  /// capacity * this many records are kept, whatever the traces' lengths.
  static constexpr size_t records_per_trace_budget = 16;

  /// `capacity` traces of at most `per_trace` records each; records added
  /// through `record` carry `node_id`.
  explicit trace_ring(std::string node_id,
                      size_t capacity = default_capacity,
                      size_t per_trace = default_per_trace);

  /// False when the ring keeps nothing (capacity 0): skip building records.
  bool enabled() const noexcept { return capacity_ > 0; }

  const std::string& node_id() const noexcept { return node_id_; }

  /// Keeps `rec` under `trace_id` (ignored when disabled or the id is
  /// empty). A new trace beyond the capacity evicts the oldest trace.
  void add(std::string_view trace_id, trace_record rec);

  /// Adds a record of this node, stamped now.
  void record(std::string_view trace_id, std::string step,
              std::string decision,
              nlohmann::json detail = nlohmann::json::object(),
              std::chrono::microseconds duration = {});

  /// The records of one trace, oldest first (empty when unknown).
  std::vector<trace_record> find(std::string_view trace_id) const;

  /// How many records of `trace_id` were dropped by the per-trace cap.
  size_t dropped(std::string_view trace_id) const;

  /// The records of one trace as a JSON array, oldest first.
  nlohmann::json to_json(std::string_view trace_id) const;

  /// Traces kept now.
  size_t size() const;

  /// The share of requests (0..1) whose decisions are kept when the caller
  /// did not ask (traces.sample). Requests through the console and HTTP
  /// always ask; in-process and binary-client traffic is sampled, so the
  /// records cost nothing measurable on the hot path.
  void set_sample(double share) noexcept { sample_ = share; }

  /// Whether `trace_id` is in the sample: the same answer on every node
  /// (a hash of the id), so a sampled trace is whole.
  bool sampled(std::string_view trace_id) const noexcept {
    if (sample_ >= 1.0)
      return true;
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (unsigned char c : trace_id)
      h = (h ^ c) * 1099511628211ull;
    return static_cast<double>(h % 1000000) < sample_ * 1000000.0;
  }

  /// Unix time now in microseconds (the records' clock).
  static int64_t now_us();

private:
  struct entry {
    std::vector<trace_record> records;
    size_t dropped = 0;
  };

  std::string node_id_;
  size_t capacity_;
  size_t per_trace_;
  double sample_ = 0.01;
  size_t records_ = 0; ///< records kept, in all traces
  static constexpr size_t initial_records = 8;
  /// Moves the oldest trace into `out` (destroyed by the caller, unlocked).
  void evict_oldest(std::vector<entry>& out);
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> traces_;
  std::deque<std::string> order_; ///< trace ids, oldest first
};

using trace_ring_ptr = std::shared_ptr<trace_ring>;

/// Whether records should be built for `ring` (set and enabled): the one
/// test on a hot path.
inline bool tracing(const trace_ring_ptr& ring) noexcept {
  return ring != nullptr && ring->enabled();
}

} // namespace mesh
