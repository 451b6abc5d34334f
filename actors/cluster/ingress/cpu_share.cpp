#include "actors/cluster/ingress/cpu_share.hpp"

#include <sched.h>

namespace mesh {

uint32_t sender_cpu_tag() noexcept {
  // glibc reads it from the kernel's rseq area: no system call.
  int cpu = ::sched_getcpu();
  return cpu < 0 ? 0 : static_cast<uint32_t>(cpu) + 1;
}

bool sent_from_this_cpu(uint32_t tag) noexcept {
  return tag != 0 && tag == sender_cpu_tag();
}

} // namespace mesh
