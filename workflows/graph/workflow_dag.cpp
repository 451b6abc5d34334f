#include "workflows/graph/workflow_dag.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>

namespace mesh {

namespace {

// The parser only builds in-range indexes: anything else is a bug.
void check_indexes(const dependency_lists& deps) {
  for (size_t i = 0; i < deps.size(); ++i)
    for (auto d : deps[i])
      if (d >= deps.size())
        throw std::out_of_range("step " + std::to_string(i)
                                + " depends on step " + std::to_string(d)
                                + " of " + std::to_string(deps.size()));
}

// One cycle among the steps left with unmet dependencies (each of them has
// at least one such dependency, so following them must come back). Walks
// from the lowest such step to its lowest unmet dependency, and so on.
std::vector<size_t> find_cycle(const dependency_lists& deps,
                               const std::vector<size_t>& unmet) {
  auto next_of = [&](size_t i) {
    size_t best = deps.size();
    for (auto d : deps[i])
      if (unmet[d] > 0 && d < best)
        best = d;
    return best;
  };
  size_t start = 0;
  while (start < deps.size() && unmet[start] == 0)
    ++start;
  std::vector<size_t> walk;
  std::vector<size_t> seen_at(deps.size(), deps.size());
  auto i = start;
  while (i < deps.size() && seen_at[i] == deps.size()) {
    seen_at[i] = walk.size();
    walk.push_back(i);
    i = next_of(i);
  }
  if (i >= deps.size()) // cannot happen: every unmet step has an unmet dep
    throw std::logic_error("topological_order: no cycle among unmet steps");
  std::vector<size_t> cycle(walk.begin() + seen_at[i], walk.end());
  // Start at the lowest index so the same graph always names it the same.
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()),
              cycle.end());
  return cycle;
}

} // namespace

// On a cycle, `cycle` lists its steps so that each depends on the next and
// the last on the first, starting with the lowest index: {1, 2} means
// "1 depends on 2, 2 depends on 1"; {3} a step that depends on itself.
dag_order topological_order(const dependency_lists& deps) {
  check_indexes(deps);
  auto n = deps.size();
  std::vector<size_t> unmet(n);
  std::vector<std::vector<size_t>> dependents(n);
  for (size_t i = 0; i < n; ++i) {
    unmet[i] = deps[i].size(); // a repeated dependency counts twice, both ways
    for (auto d : deps[i])
      dependents[d].push_back(i);
  }
  // Ready steps, lowest index first: with no dependencies, file order.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (unmet[i] == 0)
      ready.push(i);
  dag_order result;
  while (!ready.empty()) {
    auto i = ready.top();
    ready.pop();
    result.order.push_back(i);
    for (auto j : dependents[i])
      if (--unmet[j] == 0)
        ready.push(j);
  }
  if (result.order.size() < n) {
    result.order.clear();
    result.cycle = find_cycle(deps, unmet);
  }
  return result;
}

std::vector<std::vector<bool>> ancestors(const dependency_lists& deps) {
  check_indexes(deps);
  auto n = deps.size();
  std::vector<std::vector<bool>> result(n, std::vector<bool>(n, false));
  // A search from each step; n is a workflow's step count, so n^2 is fine.
  std::vector<size_t> stack;
  for (size_t i = 0; i < n; ++i) {
    auto& mine = result[i];
    stack.assign(deps[i].begin(), deps[i].end());
    while (!stack.empty()) {
      auto j = stack.back();
      stack.pop_back();
      if (mine[j])
        continue;
      mine[j] = true;
      stack.insert(stack.end(), deps[j].begin(), deps[j].end());
    }
  }
  return result;
}

} // namespace mesh
