#pragma once

// Routing strategies: pure functions that pick the variant of a process for
// one request. One interface, looked up by name (or by the seed's script
// path, e.g. /optimisation/routing_strategies/percentage_rollout.py).
//
// A strategy instance belongs to one manifest: prepare() checks and compiles
// the manifest's static args once; choose() then runs per request, without
// allocating, and returns a structured decision whose reason is formatted
// only when someone reads it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "strategies/decision_rng.hpp"
#include "strategies/variant.hpp"

namespace google::protobuf {
class Value;
} // namespace google::protobuf

namespace mesh {

/// A problem with a manifest: where (a JSON pointer) and what.
struct manifest_problem {
  std::string pointer;
  std::string message;
};

/// Successes and failures observed for one variant.
struct outcome_counts {
  uint64_t successes = 0;
  uint64_t failures = 0;
};

/// What a strategy may read for one decision.
struct decision_input {
  const nlohmann::json& user_context;
  decision_rng& rng;
  /// Evidence per variant, in manifest order (thompson_bandit); may be
  /// null or shorter than the variant list (missing counts are zero).
  const std::vector<outcome_counts>* evidence = nullptr;
  /// The same user_context as the request carried it (a protobuf Value),
  /// for strategies that read it so (reads_context_value()): the evaluator
  /// then skips the conversion to JSON and `user_context` is an empty
  /// object. Null: read `user_context`.
  const google::protobuf::Value* context_value = nullptr;
};

enum class decision_kind : uint8_t {
  first,     ///< direct: the first variant
  bucket,    ///< percentage_rollout: the key's bucket
  rule,      ///< attribute_filter: rule `detail` matched
  fallback,  ///< attribute_filter: no rule matched
  sampled,   ///< thompson_bandit: highest posterior sample
  explored,  ///< thompson_bandit: the floor's share of traffic
};

struct decision {
  size_t index = 0;        ///< the chosen variant
  decision_kind kind = decision_kind::first;
  uint64_t detail = 0;     ///< bucket, rule number, or sample x 1e6
  std::string error;       ///< non-empty: no decision (invalid_argument)

  bool ok() const {
    return error.empty();
  }
};

class strategy {
public:
  virtual ~strategy() = default;

  /// The canonical name ("percentage_rollout").
  virtual const char* name() const noexcept = 0;

  /// Checks the static args against the variants and compiles them.
  /// `process` is the process name (percentage_rollout's default salt).
  /// Problems point into the manifest ("/strategy/args/rules/0/variant_id").
  virtual std::vector<manifest_problem>
  prepare(const nlohmann::json& args, const std::vector<variant>& variants,
          const std::string& process)
    = 0;

  /// Picks a variant for one request.
  virtual decision choose(const decision_input& in) const = 0;

  /// Says why, for logs and replies: "bucket 4326 of user_id < 9000".
  virtual std::string explain(const decision& d,
                              const std::vector<variant>& variants) const;

  /// The same text as explain(), appended to `out` (the evaluator writes it
  /// straight into the reply; strategies override it to skip temporaries).
  virtual void explain_to(const decision& d,
                          const std::vector<variant>& variants,
                          std::string& out) const {
    out += explain(d, variants);
  }

  /// True when choose() reads the user context from
  /// decision_input::context_value whenever it is set (or reads no context
  /// at all): the evaluator then passes the request's protobuf Value as is
  /// instead of converting it to JSON per request.
  virtual bool reads_context_value() const noexcept {
    return false;
  }
};

/// A new instance of the strategy called `name_or_path`; null if unknown.
std::unique_ptr<strategy> make_strategy(std::string_view name_or_path);

/// The canonical name for a name or a seed path; empty if unknown.
std::string canonical_strategy_name(std::string_view name_or_path);

/// Every canonical name.
const std::vector<std::string>& strategy_names();

/// The bucket (0..9999) of a key: murmur3 x86_32 (seed 0) of
/// "<salt>:<key>", scaled by (h * 10000) >> 32 (no modulo bias). Pinned by
/// tests/data/bucket_vectors.json: every node and release agrees.
uint32_t rollout_bucket(std::string_view salt, std::string_view key);

/// MurmurHash3 x86_32 with seed 0 (Debian's libmurmurhash).
uint32_t murmur3_x86_32(std::string_view data);

/// The raw hash behind rollout_bucket (for the test vectors).
uint32_t rollout_hash(std::string_view salt, std::string_view key);

} // namespace mesh
