#include "cluster/monitor_ring.hpp"

#include <algorithm>

namespace mesh {

ring_roles monitor_ring(const std::string& self,
                        std::vector<std::string> members, size_t k) {
  members.push_back(self);
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  ring_roles roles;
  auto n = members.size();
  auto me = static_cast<size_t>(
    std::find(members.begin(), members.end(), self) - members.begin());
  // Never more neighbours than there are others (a small ring is full).
  auto reach = std::min(std::max<size_t>(k, 1), n - 1);
  for (size_t step = 1; step <= reach; ++step) {
    roles.beat_to.insert(members[(me + step) % n]);
    roles.watch.insert(members[(me + n - step) % n]);
  }
  return roles;
}

} // namespace mesh
