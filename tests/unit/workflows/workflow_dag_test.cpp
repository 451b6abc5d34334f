#define CAF_SUITE workflows.dag
#include "check.hpp"

#include <cstddef>
#include <stdexcept>
#include <vector>

#include "workflows/graph/workflow_dag.hpp"

// The order of a workflow's steps: Kahn's sort with file-order ties, the
// cycle it names when there is one, and each step's ancestors.

using namespace mesh;

namespace {

using indexes = std::vector<size_t>;
using flags = std::vector<bool>;

// True when `f` throws std::out_of_range.
template<class F>
bool throws_out_of_range(F f) {
  try {
    f();
  } catch (const std::out_of_range&) {
    return true;
  }
  return false;
}

} // namespace

CAF_TEST(independent steps keep file order) {
  auto result = topological_order({{}, {}, {}, {}});
  CAF_CHECK_EQUAL(result.order, (indexes{0, 1, 2, 3}));
  CAF_CHECK(result.cycle.empty());
  auto none = topological_order({});
  CAF_CHECK(none.order.empty());
  CAF_CHECK(none.cycle.empty());
}

CAF_TEST(dependencies come first and ties go to the lowest index) {
  // 0 waits for 3; 1 and 2 are free; 3 waits for 2.
  auto result = topological_order({{3}, {}, {}, {2}});
  CAF_CHECK_EQUAL(result.order, (indexes{1, 2, 3, 0}));
  CAF_CHECK(result.cycle.empty());
  // A step freed late still goes before a higher free one.
  auto later = topological_order({{}, {0}, {}, {}});
  CAF_CHECK_EQUAL(later.order, (indexes{0, 1, 2, 3}));
  // A repeated dependency does not confuse the counting.
  auto twice = topological_order({{}, {0, 0}});
  CAF_CHECK_EQUAL(twice.order, (indexes{0, 1}));
}

CAF_TEST(a diamond runs its top then both sides then the bottom) {
  // 0 -> {1, 2} -> 3, plus an unrelated 4.
  auto result = topological_order({{}, {0}, {0}, {1, 2}, {}});
  CAF_CHECK_EQUAL(result.order, (indexes{0, 1, 2, 3, 4}));
  CAF_CHECK(result.cycle.empty());
  // The same diamond written bottom first.
  auto reversed = topological_order({{1, 2}, {3}, {3}, {}});
  CAF_CHECK_EQUAL(reversed.order, (indexes{3, 1, 2, 0}));
}

CAF_TEST(a cycle empties the order and names each step then its dependency) {
  // 1 depends on 2, 2 on 1: the cycle reads "1 -> 2 -> 1".
  auto two = topological_order({{}, {2}, {1}, {0}});
  CAF_CHECK(two.order.empty());
  CAF_CHECK_EQUAL(two.cycle, (indexes{1, 2}));
  // 0 -> 3 -> 2 -> 1 -> 3: the cycle is 1 -> 3 -> 2 (lowest first), and
  // 0, which only hangs on it, is not part of it.
  auto tail = topological_order({{3}, {3}, {1}, {2}});
  CAF_CHECK(tail.order.empty());
  CAF_CHECK_EQUAL(tail.cycle, (indexes{1, 3, 2}));
  // A step depending on itself.
  auto self = topological_order({{}, {1}});
  CAF_CHECK(self.order.empty());
  CAF_CHECK_EQUAL(self.cycle, indexes{1});
  // A cycle behind a diamond: 4 -> 5 -> 4, the rest is fine.
  auto behind = topological_order({{}, {0}, {0}, {1, 2}, {3, 5}, {4}});
  CAF_CHECK(behind.order.empty());
  CAF_CHECK_EQUAL(behind.cycle, (indexes{4, 5}));
}

CAF_TEST(an index out of range is a bug and throws) {
  CAF_CHECK(throws_out_of_range([] { topological_order({{1}}); }));
  CAF_CHECK(throws_out_of_range([] { ancestors({{}, {2}}); }));
}

CAF_TEST(ancestors are the transitive dependencies) {
  // The diamond 0 -> {1, 2} -> 3, and 4 after 3.
  auto a = ancestors({{}, {0}, {0}, {1, 2}, {3}});
  CAF_REQUIRE_EQUAL(a.size(), 5u);
  CAF_CHECK_EQUAL(a[0], (flags{false, false, false, false, false}));
  CAF_CHECK_EQUAL(a[1], (flags{true, false, false, false, false}));
  CAF_CHECK_EQUAL(a[2], (flags{true, false, false, false, false}));
  CAF_CHECK_EQUAL(a[3], (flags{true, true, true, false, false}));
  CAF_CHECK_EQUAL(a[4], (flags{true, true, true, true, false}));
  // Siblings are not each other's ancestors; order of the file is no factor.
  auto b = ancestors({{2}, {}, {1}});
  CAF_CHECK_EQUAL(b[0], (flags{false, true, true}));
  CAF_CHECK_EQUAL(b[1], (flags{false, false, false}));
  CAF_CHECK_EQUAL(b[2], (flags{false, true, false}));
  CAF_CHECK(ancestors({}).empty());
}
