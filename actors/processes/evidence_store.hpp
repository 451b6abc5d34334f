#pragma once

// The strategy evaluator's bandit evidence: the cluster-wide grow-only
// counters (strategies/bandit_evidence.hpp) plus what the evaluator needs
// around them: per-manifest totals cached for the hot path, conversion to
// and from pb::BanditEvidence, and persistence in the node's data directory
// (written atomically: a crash never leaves half a file).
//
// Each node's state is its own: the file is named by the node id, and a
// node reads its own file only, never another's found in the same folder
// (what it learns from peers arrives from them, merged). Nothing is written
// until there is something new to keep, so the folder is not even created
// by a node that never records or merges an outcome.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/manifests/manifest.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "strategies/bandit_evidence.hpp"

namespace mesh {

class evidence_store {
public:
  evidence_store() = default;

  /// `data_dir` empty: nothing is saved or loaded. `durable` false: the
  /// node id lives as long as the process (port 0, no --id), so the file
  /// is only for a restarted evaluator of this process and close() removes
  /// it.
  evidence_store(std::string node_id, const std::string& data_dir,
                 bool durable = true);

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

  /// Merges this node's evidence file, when there is one; an error text
  /// when it cannot be read.
  std::string load();

  /// Writes the file (temp file, then rename, creating the folder) when
  /// something was recorded or merged since the last load or save; an
  /// error text on failure.
  std::string save();

  /// At shutdown: a durable store saves; a per-process one removes its
  /// file (no later process has this id to read it).
  std::string close();

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
  bool durable_ = true;
  bool dirty_ = false; ///< changed since the last load or save
  bool created_dir_ = false; ///< save() created the data directory
  bandit_evidence evidence_;
  std::map<std::string, cached> cache_;
  std::set<std::string> peers_;
};

} // namespace mesh
