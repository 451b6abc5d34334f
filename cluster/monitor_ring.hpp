#pragma once

// Who beats whom: the heartbeat ring. Every node heartbeating every other
// costs n x (n - 1) messages an interval, most of an idle cluster's CPU at
// 16 nodes. As Akka's cluster does (its monitoring ring), each node instead
// sends its heartbeats to the `k` nodes after it in the ring of up members
// (sorted by node id) and watches the `k` before it, which beat it; what a
// watcher concludes (suspect, down) reaches every other node as its
// reachability report (connection manager). Below k + 2 nodes every node
// beats and watches every other, as without a ring.

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace mesh {

struct ring_roles {
  std::set<std::string> beat_to; ///< our heartbeats go to these
  std::set<std::string> watch;   ///< these beat us: our detector judges them
};

/// `self`'s roles in the ring of `members` (node ids, `self` among them or
/// not, in any order, duplicates ignored) with `k` monitors per node
/// (0 counts as 1).
ring_roles monitor_ring(const std::string& self,
                        std::vector<std::string> members, size_t k);

/// A peer's reachability report as kept: only nodes we know, each once.
struct reachability_report {
  std::set<std::string> suspect;
  std::set<std::string> down; ///< wins over suspect for a node in both
};

/// What a report says, reduced to the ids `known` accepts (a peer's report
/// is input from the network: unknown names and repeats are dropped, so
/// what is kept is bounded by our own member count).
template <class List>
reachability_report
keep_known(const List& suspect, const List& down,
           const std::function<bool(const std::string&)>& known) {
  reachability_report r;
  for (const auto& id : down)
    if (known(id))
      r.down.insert(id);
  for (const auto& id : suspect)
    if (known(id) && r.down.count(id) == 0)
      r.suspect.insert(id);
  return r;
}

} // namespace mesh
