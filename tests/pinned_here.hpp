#pragma once

// pinned_here: pins the calling thread to the CPU it runs on for the
// object's life, then gives it back its CPUs. For tests that compare CPU
// numbers (actors/cluster/ingress/cpu_share.hpp): unpinned, the thread may
// move between two readings.

#include <sched.h>

#include "check.hpp"

namespace mesh::test {

class pinned_here {
public:
  pinned_here() {
    CAF_REQUIRE_EQUAL(::sched_getaffinity(0, sizeof before_, &before_), 0);
    cpu_ = ::sched_getcpu();
    CAF_REQUIRE(cpu_ >= 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_, &one);
    CAF_REQUIRE_EQUAL(::sched_setaffinity(0, sizeof one, &one), 0);
  }

  ~pinned_here() {
    ::sched_setaffinity(0, sizeof before_, &before_);
  }

  pinned_here(const pinned_here&) = delete;
  pinned_here& operator=(const pinned_here&) = delete;

  /// The CPU the thread is pinned to.
  int cpu() const {
    return cpu_;
  }

private:
  cpu_set_t before_;
  int cpu_ = -1;
};

} // namespace mesh::test
