#pragma once

// Resilience policies (Dapr's named policies, Envoy's numbers): what the
// dispatch pipeline applies to a request, chosen by the request's path.
// Pure data and matching; no CAF, no clock.
//
// A policy's `match` is "namespace/Service/Method" where any segment may be
// `*` ("orders/*/*", "*/PaymentService/*"). The most specific policy wins:
// more literal segments beat fewer; on a tie the namespace counts before the
// service, the service before the method; on a full tie, the first listed.
// A request no policy matches gets the default policy (named "default"; a
// listed policy named "default" replaces it).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/status.hpp"

namespace mesh {

struct retry_settings {
  uint32_t max_attempts = 3;                 ///< first try included; >= 1
  std::chrono::milliseconds per_try_timeout{0}; ///< 0: the whole deadline
  std::chrono::milliseconds initial{25};     ///< first backoff delay
  double multiplier = 2.0;                   ///< >= 1
  std::chrono::milliseconds max{1000};       ///< backoff cap
  double jitter = 0.2;                       ///< +/- fraction, in [0, 1]
  /// Statuses worth another attempt (never handler_error by default: the
  /// handler ran and answered).
  std::vector<status_code> retry_on{status_code::unavailable,
                                    status_code::deadline_exceeded,
                                    status_code::overloaded};

  bool retries(status_code code) const;
};

/// Envoy's retry budget: retries in flight at most
/// max(min_concurrency, percent% of active requests).
struct budget_settings {
  double percent = 20.0;
  uint32_t min_concurrency = 3;
};

/// Envoy's outlier detection, with a cap that behaves on small clusters.
struct outlier_settings {
  uint32_t consecutive_failures = 5;           ///< 0: never eject
  std::chrono::milliseconds interval{10000};   ///< failures older reset
  std::chrono::milliseconds base_ejection{30000};
  std::chrono::milliseconds max_ejection{300000};
  uint32_t max_ejected_percent = 50;
};

struct hedging_settings {
  bool enabled = false;  ///< the policy hedges idempotent methods
  /// Fixed delay before the second attempt; 0 with `adaptive`: the peer's
  /// recent p95.
  std::chrono::milliseconds delay{0};
  bool adaptive = false;
};

struct rate_limit_settings {
  double per_second = 0; ///< 0: no limit
  uint32_t burst = 0;    ///< bucket size; 0: max(1, per_second)
};

struct policy {
  std::string name;
  std::string match = "*/*/*";
  std::optional<std::chrono::milliseconds> timeout; ///< the whole request
  retry_settings retry;
  budget_settings retry_budget;
  outlier_settings outlier;
  hedging_settings hedging;
  std::vector<std::string> hooks; ///< in order
  rate_limit_settings rate_limit;

  /// 0 when `match` does not match the path, else 1 + a specificity score
  /// (higher is more specific).
  uint32_t score(std::string_view ns, std::string_view service,
                 std::string_view method) const;

  nlohmann::json to_json() const;
};

/// An immutable set of policies, shared by pointer (copy-on-reload).
class policy_set {
public:
  policy_set(); ///< only the default policy
  explicit policy_set(std::vector<policy> policies);

  /// The policy for a request's path (the default when none matches).
  const policy& match(std::string_view ns, std::string_view service,
                      std::string_view method) const;

  /// By name, or null.
  const policy* find(std::string_view name) const;

  const policy& default_policy() const { return default_; }

  /// Listed policies, in order (without the built-in default unless it was
  /// replaced).
  const std::vector<policy>& list() const { return list_; }

private:
  std::vector<policy> list_;
  policy default_;
};

/// Parses the config's `policies` list. Errors are "file: /policies/2/retry:
/// message" lines; `out` is untouched when there is any. `file` names the
/// source in the errors. Rules beyond the schema: unique names, a match of
/// three non-empty segments each `*` or a name, max_attempts >= 1,
/// multiplier >= 1, initial <= max, base_ejection <= max_ejection, jitter
/// and percents in range, known statuses in retry_on, hedging delay > 0
/// unless adaptive.
bool parse_policies(const nlohmann::json& list, const std::string& file,
                    policy_set& out, std::vector<std::string>& errors);

} // namespace mesh
