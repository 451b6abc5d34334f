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

} // namespace mesh
