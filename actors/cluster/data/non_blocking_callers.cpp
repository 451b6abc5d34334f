#include "actors/cluster/data/non_blocking_callers.hpp"

#include <array>
#include <atomic>
#include <cstdint>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>

#include "actors/handlers/stall_counter.hpp"

namespace mesh {

namespace {

// One slot per declared actor: its address while it lives (0: free), with
// its state in the low bits, so address and state change together; and
// when it stalled first (read only while its state says it did).
// Looked up by the plane's thread for every actor it wakes that is not one
// of the node's own: a scan of the slots in use, no lock. Only slots below
// `used` were ever taken, so with nothing declared the scan is empty.
struct registry {
  using clock = std::chrono::steady_clock;

  static constexpr uintptr_t stalled_once = 1;
  static constexpr uintptr_t revoked = 2; ///< holds the slot until it ends
  static constexpr uintptr_t state_bits = 3;
  static_assert(alignof(caf::abstract_actor) > state_bits);

  std::array<std::atomic<uintptr_t>, max_non_blocking_callers> slots{};
  std::array<std::atomic<clock::rep>, max_non_blocking_callers> first_stall{};
  std::atomic<size_t> used{0};

  static uintptr_t word(const caf::abstract_actor* who) noexcept {
    return reinterpret_cast<uintptr_t>(who);
  }

  // The state of `who`'s slot (declared: 0), or -1 when it holds none.
  int state_of(const caf::abstract_actor* who) const noexcept {
    auto n = used.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      auto v = slots[i].load(std::memory_order_acquire);
      if ((v & ~state_bits) == word(who))
        return static_cast<int>(v & state_bits);
    }
    return -1;
  }

  bool contains(const caf::abstract_actor* who) const noexcept {
    auto s = state_of(who);
    return s >= 0 && s != static_cast<int>(revoked);
  }

  // The slot `who` took, or max_non_blocking_callers when all are taken.
  size_t take(const caf::abstract_actor* who) noexcept {
    for (size_t i = 0; i < slots.size(); ++i) {
      uintptr_t expected = 0;
      if (slots[i].compare_exchange_strong(expected, word(who),
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

  // Only the actor's end frees its slot (revoked or not).
  void release(size_t slot) noexcept {
    slots[slot].store(0, std::memory_order_release);
  }

  // Counts a stall of `who` at `now`: its first marks it, a second within
  // stall_window revokes it (true then), a later one counts as a first.
  // Every slot it holds goes along (two threads declaring it at once gave
  // it two).
  bool stalled(const caf::abstract_actor* who, clock::time_point now) noexcept {
    bool now_revoked = false;
    auto n = used.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      auto v = slots[i].load(std::memory_order_acquire);
      if ((v & ~state_bits) != word(who) || (v & revoked) != 0)
        continue;
      clock::time_point first{clock::duration{
        first_stall[i].load(std::memory_order_relaxed)}};
      if ((v & stalled_once) != 0 && within_stall_window(first, now)) {
        now_revoked = slots[i].compare_exchange_strong(
                        v, word(who) | revoked, std::memory_order_acq_rel)
                      || now_revoked;
        continue;
      }
      // Stored before the state that makes it read. Should the slot change
      // hands meanwhile (the actor ended, another took the slot and
      // stalled: only with two planes in one process), the exchange fails
      // and the new holder's first stall reads as this one's time, a
      // window moved by moments: harmless.
      first_stall[i].store(now.time_since_epoch().count(),
                           std::memory_order_relaxed);
      slots[i].compare_exchange_strong(v, word(who) | stalled_once,
                                       std::memory_order_acq_rel);
    }
    return now_revoked;
  }
};

registry& callers() {
  static registry r;
  return r;
}

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

} // namespace

bool declare_non_blocking_caller(const caf::actor& caller) {
  if (!caller)
    return false;
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(caller);
  auto& r = callers();
  if (auto state = r.state_of(ptr); state >= 0)
    return state != static_cast<int>(registry::revoked);
  auto slot = r.take(ptr);
  if (slot == max_non_blocking_callers)
    return false;
  // When it ends (at once if it has ended already): its address may be
  // another actor's next.
  ptr->attach_functor([slot] { callers().release(slot); });
  return true;
}

bool is_non_blocking_caller(caf::resumable* job) noexcept {
  auto* who = actor_of(job);
  return who != nullptr && callers().contains(who);
}

bool non_blocking_caller_stalled(
  caf::resumable* job, std::chrono::steady_clock::time_point now) noexcept {
  auto* who = actor_of(job);
  return who != nullptr && callers().stalled(who, now);
}

size_t non_blocking_callers() {
  size_t n = 0;
  for (const auto& slot : callers().slots) {
    auto v = slot.load(std::memory_order_acquire);
    if (v != 0 && (v & registry::revoked) == 0)
      ++n;
  }
  return n;
}

} // namespace mesh
