#pragma once

// shortest_chain: breadth-first search over names, for the load checks that
// refuse definitions which reach themselves (jobs feeding each other in a
// circle, workflows calling themselves through others) and name the circle.

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace mesh {

/// The shortest chain from one of `from` to `to`, both ends included, or an
/// empty one when `to` cannot be reached. `next(x, visit)` calls
/// `visit(y)` for every name `y` that `x` leads to.
template <class Next>
std::vector<std::string> shortest_chain(const std::vector<std::string>& from,
                                        const std::string& to, Next&& next) {
  std::map<std::string, std::string> parent;
  std::deque<std::string> queue;
  for (const auto& x : from)
    if (parent.emplace(x, std::string{}).second)
      queue.push_back(x);
  while (!queue.empty()) {
    auto x = queue.front();
    queue.pop_front();
    if (x == to) {
      std::vector<std::string> path;
      for (auto at = to; !at.empty(); at = parent.at(at))
        path.insert(path.begin(), at);
      return path;
    }
    next(x, [&](const std::string& y) {
      if (parent.emplace(y, x).second)
        queue.push_back(y);
    });
  }
  return {};
}

} // namespace mesh
