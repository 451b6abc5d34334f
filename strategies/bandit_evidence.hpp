#pragma once

// The evidence of the thompson_bandit, shared by the whole cluster: per
// node, per process, per variant, counters of successes and failures that
// only grow. A node increments only its own counters; merging another
// node's view keeps the larger value per counter (a grow-only counter
// CRDT), so evidence converges everywhere and is never counted twice, in
// whatever order and however often views arrive. Plain data: persisted as
// JSON, exchanged as pb::BanditEvidence by the strategy evaluator.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "strategies/strategy.hpp"

namespace mesh {

class bandit_evidence {
public:
  using variant_map = std::map<std::string, outcome_counts>;
  using process_map = std::map<std::string, variant_map>;
  using node_map = std::map<std::string, process_map>;

  /// Counts one outcome observed on `node`.
  void record(const std::string& node, const std::string& process,
              const std::string& variant, bool success);

  /// Takes another view of one counter; true if anything grew.
  bool merge(const std::string& node, const std::string& process,
             const std::string& variant, const outcome_counts& counts);

  /// Merges a whole view; true if anything grew.
  bool merge(const bandit_evidence& other);

  /// The cluster-wide counts of one variant: the sum over nodes.
  outcome_counts total(const std::string& process,
                       const std::string& variant) const;

  const node_map& nodes() const {
    return nodes_;
  }

  nlohmann::json to_json() const;

  /// Reads what to_json wrote; false (and nothing changed) if malformed.
  bool from_json(const nlohmann::json& doc);

private:
  node_map nodes_;
};

} // namespace mesh
