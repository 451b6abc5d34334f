#pragma once

// prompt_sharing: CAF's work-sharing scheduler (one queue for all workers)
// with its wake-ups made cheaper: a worker that finds the queue empty sleeps
// on an event count (actors/event_count.hpp), not on a condition variable
// under the queue's lock. CAF 0.17 notified under the lock, so a worker
// woken on the same CPU found it still taken and slept again (two context
// switches more per wake-up), and glibc made the woken worker's unlock a
// system call (about 1 µs on this VM; BENCHMARKS.md). On a node that is a
// wake-up per batch of answers the data plane's thread hands to a caller.
//
// A worker whose last sleep was shorter than a millisecond, on running out
// of jobs, polls the queue a while before it sleeps (`spin_key`,
// scheduler.worker_spin_us), yielding its CPU between looks, when the
// process may run on more than one CPU: a caller's answers then find their
// worker awake instead of waking it from another CPU. One worker polls at
// a time, and enqueues wake no sleeper meanwhile. A worker that slept a
// millisecond or more sleeps again at once, so an idle node's timers cost
// no polling.
//
// And an actor that a worker's job wakes runs next on that worker (its
// "next" slot, as Go's runnext and Tokio's LIFO slot): no other worker is
// woken for it, and it finds the message it was sent still in this CPU's
// cache. A caller's requests reach the router that way without a second
// worker's wake-up per batch (on another CPU: 30-700 µs here). The slot
// holds one job, the newest (an older one goes to the shared queue, waking
// a worker), and after max_runs_next slot jobs in a row a worker serves the
// shared queue first, so two actors that keep waking each other cannot
// starve the rest. The price: a job in the slot waits for the current
// job's turn, so a handler that sends and then blocks until the receiver
// has acted waits forever (another worker would have run the receiver).
// Event-based actors never block; blocking work has its own threads.
//
// meshnode runs this policy when `scheduler.policy` is "sharing" (the
// default).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>

#include <sched.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "actors/event_count.hpp"

namespace mesh {

class prompt_sharing : public caf::policy::work_sharing {
public:
  using clock = std::chrono::steady_clock;

  /// Where the node's config puts the polling budget in microseconds
  /// (caf::put(cfg.content, spin_key, n); absent: 0, no polling).
  static constexpr char spin_key[] = "mesh.worker-spin-us";

  /// A worker that slept at least this long sleeps again without polling.
  static constexpr std::chrono::milliseconds idle_gap{1};

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* parent)
      : spin(std::chrono::microseconds{
        caf::get_or(caf::content(parent->system().config()),
                    spin_key, int64_t{0})}) {
      cpu_set_t mask;
      if (::sched_getaffinity(0, sizeof mask, &mask) != 0
          || CPU_COUNT(&mask) < 2)
        spin = clock::duration::zero(); // a lone CPU: polling only delays
    }

    queue_type queue;
    std::mutex lock;
    event_count jobs_added; ///< notified after every enqueue
    clock::duration spin;   ///< zero: sleep at once
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }

    caf::resumable* next = nullptr; ///< runs after the current job
    int runs_next = 0;              ///< slot jobs run in a row
    bool woken_soon = false;        ///< its last sleep was short
  };

  /// Slot jobs a worker runs in a row before it serves the shared queue.
  static constexpr int max_runs_next = 8;

  template <class Coordinator>
  void enqueue(Coordinator* self, caf::resumable* job) {
    queue_type one; // its node is allocated outside the lock, as CAF does
    one.push_back(job);
    auto& shared = d(self);
    {
      std::lock_guard<std::mutex> guard{shared.lock};
      shared.queue.splice(shared.queue.end(), one);
    }
    shared.jobs_added.notify_one();
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    running_here() = self;
    auto& mine = d(self);
    auto& shared = d(self->parent());
    if (mine.next != nullptr) {
      if (mine.runs_next < max_runs_next) {
        ++mine.runs_next;
        return std::exchange(mine.next, nullptr);
      }
      mine.runs_next = 0;
      auto* waiting = take(shared);
      if (waiting == nullptr) // nobody else waits: no worker to wake for it
        return std::exchange(mine.next, nullptr);
      enqueue(self->parent(), std::exchange(mine.next, nullptr));
      return waiting;
    }
    mine.runs_next = 0;
    if (auto* job = take(shared))
      return job;
    if (mine.woken_soon)
      if (auto* job = poll(shared))
        return job;
    for (;;) {
      auto key = shared.jobs_added.prepare();
      if (auto* job = take(shared)) {
        shared.jobs_added.cancel();
        return job;
      }
      auto slept = clock::now();
      shared.jobs_added.wait(key);
      mine.woken_soon = clock::now() - slept < idle_gap;
      if (auto* job = take(shared))
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

  // CAF calls this with the execution unit of the actor that sent the
  // message, which may be a worker's while another thread sends (a
  // response promise delivered by a thread of a blocking handler's pool):
  // only the worker's own thread uses its slot.
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    if (running_here() != self) {
      enqueue(self->parent(), job);
      return;
    }
    if (auto* older = std::exchange(d(self).next, job))
      enqueue(self->parent(), older);
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  // A job left in a worker's slot when the scheduler stops is cleaned up
  // with the shared queue's.
  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    if (auto* job = std::exchange(d(self).next, nullptr))
      f(job);
  }

private:
  // The worker whose thread this is (null on other threads).
  static void*& running_here() {
    thread_local void* worker = nullptr;
    return worker;
  }

  // The one poller at a time (the others sleep): looks at the queue
  // whenever its count moves, yielding between looks, until it takes a job
  // or the budget is spent (null). Enqueues meanwhile wake no sleeper, so
  // one that takes a job and leaves more behind wakes one for them.
  static caf::resumable* poll(coordinator_data& shared) {
    auto& jobs = shared.jobs_added;
    if (shared.spin == clock::duration::zero() || !jobs.try_start_polling())
      return nullptr;
    bool polling = true; // it holds the poller slot (only its own to free)
    auto until = clock::now() + shared.spin;
    auto seen = jobs.count();
    bool more = false;
    caf::resumable* job = take(shared, more); // came before `seen`
    while (job == nullptr) {
      bool over = clock::now() >= until;
      if (jobs.count() == seen && !over) {
        ::sched_yield();
        continue;
      }
      jobs.stop_polling();
      polling = false;
      seen = jobs.count(); // orders what came while it polled before take
      job = take(shared, more);
      if (job != nullptr || over || !jobs.try_start_polling())
        break;
      polling = true;
    }
    if (polling) {
      jobs.stop_polling();
      // An enqueue after the take woke nobody while it held the slot; it
      // moved the count before this thread freed the slot, so it shows.
      more = more || jobs.count() != seen;
    }
    if (job != nullptr && more)
      jobs.notify_one();
    return job;
  }

  static caf::resumable* take(coordinator_data& shared, bool& more) {
    std::lock_guard<std::mutex> guard{shared.lock};
    if (shared.queue.empty())
      return nullptr;
    auto* job = shared.queue.front();
    shared.queue.pop_front();
    more = !shared.queue.empty();
    return job;
  }

  static caf::resumable* take(coordinator_data& shared) {
    std::lock_guard<std::mutex> guard{shared.lock};
    if (shared.queue.empty())
      return nullptr;
    auto* job = shared.queue.front();
    shared.queue.pop_front();
    return job;
  }
};

} // namespace mesh
