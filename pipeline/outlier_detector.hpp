#pragma once

// Outlier ejection per peer and service (Envoy's outlier detection, as a
// circuit breaker): a peer failing `consecutive_failures` times in a row for
// a service is ejected for base_ejection x (times ejected), capped at
// max_ejection; when that time is up it gets one probe request (half-open):
// success closes it, failure ejects it again for longer. A failure older
// than `interval` no longer counts towards the streak, and each interval
// spent closed forgives one past ejection.
//
// Failures are transport failures, unavailable, deadline_exceeded and
// overloaded; handler_error is a real answer and counts as success.
// Never ejects so many that a service has no peer: at most
// max_ejected_percent of the peers serving it, and never the last one.
// Pure logic on a caller-supplied clock.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/policy.hpp"
#include "protocol/status.hpp"

namespace mesh {

enum class breaker_state { closed, ejected, probing };

const char* to_string(breaker_state s);

/// Whether a status counts against a peer.
bool is_outlier_failure(status_code code);

class outlier_detector {
public:
  using clock = std::chrono::steady_clock;

  enum class admission {
    allow, ///< closed: pick it freely
    probe, ///< its ejection is over: this request is its one probe
    skip,  ///< ejected, or probing with the probe still out
  };

  /// May load balancing pick `peer` for `service` now? Returns `probe` to
  /// exactly one caller once the ejection time is up (until the probe's
  /// result is recorded).
  admission admit(const std::string& peer, const std::string& service,
                  clock::time_point now);

  /// Same question without side effects (for dry runs and explanations).
  admission peek(const std::string& peer, const std::string& service,
                 clock::time_point now) const;

  void record_success(const std::string& peer, const std::string& service,
                      clock::time_point now);

  /// Records a failure; returns true when it ejected the peer.
  /// `serving` is how many peers serve the service (ejected ones included).
  bool record_failure(const std::string& peer, const std::string& service,
                      clock::time_point now, const outlier_settings& cfg,
                      size_t serving);

  /// Forgets a peer (it left the cluster).
  void forget(const std::string& peer);

  struct row {
    std::string peer;
    std::string service;
    breaker_state state = breaker_state::closed;
    uint32_t consecutive_failures = 0;
    uint32_t times_ejected = 0;
    uint64_t failures = 0;  ///< total
    uint64_t successes = 0; ///< total
    /// When the ejection ends (ejected only).
    clock::time_point ejected_until{};
  };

  /// Every peer and service seen, ordered by peer then service.
  std::vector<row> snapshot(clock::time_point now) const;

  /// How many peers are ejected (or probing) for `service`.
  size_t ejected_count(const std::string& service,
                       clock::time_point now) const;

private:
  struct entry {
    breaker_state state = breaker_state::closed;
    uint32_t streak = 0;
    uint32_t times_ejected = 0;
    uint64_t failures = 0;
    uint64_t successes = 0;
    bool probe_out = false;
    clock::time_point last_failure{};
    clock::time_point ejected_until{};
    clock::time_point healthy_since{};
    std::chrono::milliseconds interval{10000};
  };
  // Settles time-driven transitions (ejection over -> probing).
  void settle(entry& e, clock::time_point now) const;
  static admission verdict(const entry& e);
  using key = std::pair<std::string, std::string>; ///< peer, service
  using key_view = std::pair<std::string_view, std::string_view>;
  // Looks up (peer, service) without building a key: this runs for every
  // remote request (a service name is often past the small-string size).
  struct key_less {
    using is_transparent = void;
    template <class X, class Y>
    bool operator()(const X& x, const Y& y) const {
      return key_view{x.first, x.second} < key_view{y.first, y.second};
    }
  };
  /// The entry of (peer, service), made (healthy since `now`) if new.
  entry& entry_of(const std::string& peer, const std::string& service,
                  clock::time_point now);
  std::map<key, entry, key_less> entries_;
};

} // namespace mesh
