#pragma once

// The strategy evaluator's bandit evidence: the cluster-wide grow-only
// counters (strategies/bandit_evidence.hpp) plus what the evaluator needs
// around them: per-manifest totals cached for the hot path, conversion to
// and from pb::BanditEvidence, and persistence in the node's data directory
// (written atomically: a crash never leaves half a file).

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/manifest.hpp"
#include "protocol/type_ids.hpp"
#include "strategies/bandit_evidence.hpp"

namespace mesh {

class evidence_store {
public:
  evidence_store() = default;

  /// `data_dir` empty: nothing is saved or loaded.
  evidence_store(std::string node_id, const std::string& data_dir);

  void record(const std::string& node, const std::string& process,
              const std::string& variant, bool success);

  /// Merges a peer's view; true if anything grew.
  bool merge(const pb::BanditEvidence& msg);

  /// Cluster-wide counts per variant of `m`, in manifest order.
  const std::vector<outcome_counts>& totals(const manifest& m);

  pb::BanditEvidence to_proto() const;

  bool empty() const {
    return evidence_.nodes().empty();
  }

  /// Merges every evidence file of the data directory (other ids' too);
  /// an error text naming the files that are unreadable.
  std::string load();

  /// Writes the file (temp file, then rename); an error text on failure.
  std::string save() const;

  /// Peers that already got our full evidence.
  bool knows_peer(const std::string& id) const {
    return peers_.count(id) > 0;
  }
  void note_peer(const std::string& id) {
    peers_.insert(id);
  }

  const std::string& file() const {
    return file_;
  }

private:
  struct cached {
    const manifest* source = nullptr;
    std::vector<outcome_counts> totals;
  };
  std::string node_;
  std::string file_;
  bandit_evidence evidence_;
  std::map<std::string, cached> cache_;
  std::set<std::string> peers_;
};

} // namespace mesh
