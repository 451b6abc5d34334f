#pragma once

// prompt_sharing: CAF's work-sharing scheduler (one queue for all workers)
// with its wake-ups made cheaper. A thread that finds the queue empty
// sleeps on a futex of its own count (an event count), not on a condition
// variable under the queue's lock:
// - CAF 0.17 notifies under the lock, so a worker woken on the same CPU
//   took it from the enqueuing thread, found the lock still taken, and
//   slept again until that thread ran and let go: two context switches
//   more per wake-up. Here the lock is released before anyone is woken.
// - glibc's condition variable hands a woken thread the lock marked
//   "contended", so its unlock made a futex call that woke nobody: one
//   system call more per wake-up (about 1 µs on this VM; BENCHMARKS.md).
// On a node that is a wake-up per batch of answers the data plane's thread
// hands to a caller. meshnode runs this policy when `scheduler.policy` is
// "sharing" (the default).

#include <atomic>
#include <cstdint>
#include <mutex>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <caf/policy/work_sharing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace mesh {

class prompt_sharing : public caf::policy::work_sharing {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }

    queue_type queue;
    std::mutex lock;
    /// Bumped after every enqueue. A worker sleeps only while it still
    /// reads the value it read before its last look at the queue, so a job
    /// that came in between is never slept through.
    std::atomic<uint32_t> epoch{0};
    /// Workers between deciding to sleep and waking up: an enqueue with
    /// none makes no system call.
    std::atomic<uint32_t> sleepers{0};
  };

  template <class Coordinator>
  void enqueue(Coordinator* self, caf::resumable* job) {
    queue_type one; // its node is allocated outside the lock, as CAF does
    one.push_back(job);
    auto& shared = d(self);
    {
      std::lock_guard<std::mutex> guard{shared.lock};
      shared.queue.splice(shared.queue.end(), one);
    }
    // Both sequentially consistent: a worker that registered as a sleeper
    // after this load reads the new epoch, and so sees the job.
    shared.epoch.fetch_add(1);
    if (shared.sleepers.load() > 0)
      futex(shared.epoch, FUTEX_WAKE_PRIVATE, 1);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& shared = d(self->parent());
    if (auto* job = take(shared))
      return job;
    for (;;) {
      shared.sleepers.fetch_add(1);
      auto seen = shared.epoch.load();
      auto* job = take(shared);
      if (job == nullptr) // returns at once if the epoch moved meanwhile
        futex(shared.epoch, FUTEX_WAIT_PRIVATE, seen);
      shared.sleepers.fetch_sub(1);
      if (job != nullptr || (job = take(shared)) != nullptr)
        return job;
    }
  }

  // Every way a job reaches the queue goes through enqueue() above (the
  // base class's versions would call its own).
  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    enqueue(self, job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

private:
  static caf::resumable* take(coordinator_data& shared) {
    std::lock_guard<std::mutex> guard{shared.lock};
    if (shared.queue.empty())
      return nullptr;
    auto* job = shared.queue.front();
    shared.queue.pop_front();
    return job;
  }

  static void futex(std::atomic<uint32_t>& word, int op, uint32_t value) {
    static_assert(sizeof(word) == sizeof(uint32_t));
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), op, value,
              nullptr, nullptr, 0);
  }
};

} // namespace mesh
