#include "actors/cluster/data/non_blocking_callers.hpp"

#include <array>
#include <atomic>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>

namespace mesh {

namespace {

// One slot per declared actor, its address while it lives (null: free).
// Looked up by the plane's thread for every actor it wakes that is not one
// of the node's own: a scan of the slots in use, no lock. Only slots below
// `used` were ever taken, so with nothing declared the scan is empty.
struct registry {
  std::array<std::atomic<const caf::abstract_actor*>, max_non_blocking_callers>
    slots{};
  std::atomic<size_t> used{0};

  bool contains(const caf::abstract_actor* who) const noexcept {
    auto n = used.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i)
      if (slots[i].load(std::memory_order_acquire) == who)
        return true;
    return false;
  }

  // The slot `who` took, or max_non_blocking_callers when all are taken.
  size_t take(const caf::abstract_actor* who) noexcept {
    for (size_t i = 0; i < slots.size(); ++i) {
      const caf::abstract_actor* expected = nullptr;
      if (slots[i].compare_exchange_strong(expected, who,
                                           std::memory_order_acq_rel)) {
        auto n = used.load(std::memory_order_relaxed);
        while (n < i + 1
               && !used.compare_exchange_weak(n, i + 1,
                                              std::memory_order_release))
          ; // another declaration raised it meanwhile: look again
        return i;
      }
    }
    return max_non_blocking_callers;
  }

  void release(size_t slot) noexcept {
    slots[slot].store(nullptr, std::memory_order_release);
  }
};

registry& callers() {
  static registry r;
  return r;
}

} // namespace

bool declare_non_blocking_caller(const caf::actor& caller) {
  if (!caller)
    return false;
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(caller);
  auto& r = callers();
  if (r.contains(ptr))
    return true;
  auto slot = r.take(ptr);
  if (slot == max_non_blocking_callers)
    return false;
  // When it ends (at once if it has ended already): its address may be
  // another actor's next.
  ptr->attach_functor([slot] { callers().release(slot); });
  return true;
}

bool is_non_blocking_caller(caf::resumable* job) noexcept {
  switch (job->subtype()) {
    case caf::resumable::scheduled_actor:
    case caf::resumable::io_actor: {
      const caf::abstract_actor* who = static_cast<caf::scheduled_actor*>(job);
      return callers().contains(who);
    }
    default:
      return false;
  }
}

size_t non_blocking_callers() {
  size_t n = 0;
  for (const auto& slot : callers().slots)
    if (slot.load(std::memory_order_acquire) != nullptr)
      ++n;
  return n;
}

} // namespace mesh
