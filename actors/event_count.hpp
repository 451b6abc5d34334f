#pragma once

// event_count: lets threads sleep until "something changed" without a
// condition variable. glibc hands a thread woken from pthread_cond_wait its
// mutex marked contended, so the unlock that follows always enters the
// kernel (a futex call that wakes nobody, ~1 µs on this VM), and a notify
// under the mutex wakes a thread that on the same CPU finds the mutex still
// held and sleeps again. Here the waker holds nothing and the sleeper takes
// no lock to wake.
//
// The protocol, with the state guarded however the caller likes (a mutex,
// atomics):
//   waiter:  auto key = ec.prepare();   // registers, reads the count
//            if (state says there is work) { ec.cancel(); use it; }
//            else { ec.wait(key); }     // unregisters on return
//   waker:   change the state, then ec.notify_one() (or notify_all()).
// A change made before prepare() is seen by the waiter's check; one made
// after it moves the count, so wait() returns at once or is woken.

#include <atomic>
#include <climits>
#include <cstdint>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mesh {

class event_count {
public:
  /// Registers the caller as a sleeper and returns the count to wait on.
  uint32_t prepare() noexcept {
    sleepers_.fetch_add(1);
    return epoch_.load();
  }

  /// The count, which every notify moves: a poller compares two readings.
  uint32_t count() const noexcept {
    return epoch_.load();
  }

  /// Makes the caller the one poller, unless another thread is: while it
  /// polls, notify_one() wakes no sleeper, the poller watching count()
  /// instead. After stop_polling() the poller reads count() and checks the
  /// state again before it relies on what it saw (what was changed while
  /// it polled is then visible to it).
  bool try_start_polling() noexcept {
    uint32_t none = 0;
    return pollers_.compare_exchange_strong(none, 1);
  }

  void stop_polling() noexcept {
    pollers_.store(0);
  }

  /// Unregisters a caller that found work after prepare().
  void cancel() noexcept {
    sleepers_.fetch_sub(1);
  }

  /// Sleeps while the count still reads `key`, then unregisters. May return
  /// early: the caller checks its state again.
  void wait(uint32_t key) noexcept {
    futex(FUTEX_WAIT_PRIVATE, key);
    sleepers_.fetch_sub(1);
  }

  /// After a change to the state: wakes one sleeper, if any registered.
  void notify_one() noexcept {
    // Both sequentially consistent: a waiter that registered after this
    // load reads the new count (and so sees the change).
    epoch_.fetch_add(1);
    if (pollers_.load() == 0 && sleepers_.load() > 0)
      futex(FUTEX_WAKE_PRIVATE, 1);
  }

  /// After a change every sleeper must see (shutdown).
  void notify_all() noexcept {
    epoch_.fetch_add(1);
    if (sleepers_.load() > 0)
      futex(FUTEX_WAKE_PRIVATE, INT_MAX);
  }

private:
  void futex(int op, uint32_t value) noexcept {
    static_assert(sizeof(epoch_) == sizeof(uint32_t));
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&epoch_), op, value,
              nullptr, nullptr, 0);
  }

  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<uint32_t> pollers_{0};
};

} // namespace mesh
