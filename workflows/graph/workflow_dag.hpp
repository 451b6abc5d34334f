#pragma once

// The order of a workflow's steps: a topological sort (Kahn, ties in file
// order) with cycle detection, and the ancestors of each step (what a
// reference may name).

#include <cstddef>
#include <vector>

namespace mesh {

/// deps[i]: the indexes step i depends on.
using dependency_lists = std::vector<std::vector<size_t>>;

struct dag_order {
  std::vector<size_t> order; ///< every step, dependencies first; empty if cyclic
  std::vector<size_t> cycle; ///< the steps of one cycle, in order; empty if none
};

/// Sorts the steps; the result names a cycle when there is one.
dag_order topological_order(const dependency_lists& deps);

/// ancestors[i][j]: step j is a (transitive) dependency of step i.
/// Requires an acyclic graph.
std::vector<std::vector<bool>> ancestors(const dependency_lists& deps);

} // namespace mesh
