#pragma once

// call_counts: the calls a front door took, by method and by the code it
// answered, and how long each took, for the node's status and /metrics (as
// go-grpc-prometheus' grpc_server_started_total, grpc_server_handled_total
// and grpc_server_handling_seconds).
//
// Written from any thread: the counts are relaxed atomics (no lock), each
// method's durations a histogram behind its own mutex (held for one
// record). A reader sees each counter exactly, not one instant across all
// of them (a call may show as started and not yet answered), which is what
// a scrape expects.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "telemetry/latency_histogram.hpp"

namespace mesh {

class call_counts {
public:
  /// A method: the service it belongs to and its own name (for HTTP: the
  /// verb and the route).
  struct method_name {
    std::string service;
    std::string method;
  };

  /// Counts calls of `methods` answered with one of `codes` (a code is
  /// its index in `codes`). `keys` name a method's two parts in to_json().
  call_counts(std::vector<method_name> methods, std::vector<std::string> codes,
              std::pair<std::string, std::string> keys = {"service",
                                                          "method"});

  call_counts(const call_counts&) = delete;
  call_counts& operator=(const call_counts&) = delete;

  /// A call of `method` began. An index out of range is ignored.
  void started(size_t method) noexcept;

  /// A call of `method` was answered with `code`, `took` after it
  /// started. Indices out of range are ignored.
  void handled(size_t method, size_t code,
               std::chrono::nanoseconds took) noexcept;

  /// Every method, each once, in the constructor's order (with
  /// `only_used`, those started or answered at least once):
  ///   [{"service": S, "method": M, "started": n, "in_flight": n,
  ///     "handled": {CODE: n, ...}, "latency": {"count", "mean_us",
  ///     "p50_us", "p90_us", "p99_us", "max_us"}}, ...]
  /// `handled` holds only the codes answered at least once; `in_flight` is
  /// started minus handled (never below 0); `latency` covers every answer.
  nlohmann::json to_json(bool only_used = false) const;

private:
  // A histogram is 4 KiB and most methods (HTTP routes) are never called:
  // each is made at its method's first answer.
  struct durations {
    mutable std::mutex mtx;
    std::unique_ptr<latency_histogram> hist;
  };
  std::vector<method_name> methods_;
  std::vector<std::string> codes_;
  std::pair<std::string, std::string> keys_;
  std::unique_ptr<std::atomic<uint64_t>[]> started_;
  std::unique_ptr<std::atomic<uint64_t>[]> handled_; ///< method * codes + code
  std::unique_ptr<durations[]> took_;
};

} // namespace mesh
