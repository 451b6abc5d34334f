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
  /// Stalls of each slot's actor so far.
  std::array<std::atomic<int>, max_non_blocking_callers> stalls{};
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
        stalls[i].store(0, std::memory_order_relaxed);
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

  // Frees `slot` if `who` still holds it (a revoked caller's slot may be
  // another's by the time the first one ends).
  void release(size_t slot, const caf::abstract_actor* who) noexcept {
    slots[slot].compare_exchange_strong(who, nullptr,
                                        std::memory_order_acq_rel);
  }

  // Counts a stall of `who`; frees its slot at the `limit`th (true then).
  bool stalled(const caf::abstract_actor* who, int limit) noexcept {
    auto n = used.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      if (slots[i].load(std::memory_order_acquire) != who)
        continue;
      if (stalls[i].fetch_add(1, std::memory_order_relaxed) + 1 < limit)
        return false;
      auto expected = who;
      return slots[i].compare_exchange_strong(expected, nullptr,
                                              std::memory_order_acq_rel);
    }
    return false;
  }
};

// The actor a job is, or null when it is none CAF schedules as one.
const caf::abstract_actor* actor_of(caf::resumable* job) noexcept {
  switch (job->subtype()) {
    case caf::resumable::scheduled_actor:
    case caf::resumable::io_actor:
      return static_cast<caf::scheduled_actor*>(job);
    default:
      return nullptr;
  }
}

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
  ptr->attach_functor([slot, ptr] { callers().release(slot, ptr); });
  return true;
}

bool is_non_blocking_caller(caf::resumable* job) noexcept {
  auto* who = actor_of(job);
  return who != nullptr && callers().contains(who);
}

bool non_blocking_caller_stalled(caf::resumable* job) noexcept {
  auto* who = actor_of(job);
  return who != nullptr
         && callers().stalled(who, non_blocking_caller_max_stalls);
}

size_t non_blocking_callers() {
  size_t n = 0;
  for (const auto& slot : callers().slots)
    if (slot.load(std::memory_order_acquire) != nullptr)
      ++n;
  return n;
}

} // namespace mesh
