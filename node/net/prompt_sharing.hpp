#pragma once

// prompt_sharing: CAF's work-sharing scheduler (one queue for all workers)
// with its wake-ups made cheaper: a worker that finds the queue empty sleeps
// on an event count (actors/event_count.hpp), not on a condition variable
// under the queue's lock. CAF 0.17 notified under the lock, so a worker
// woken on the same CPU found it still taken and slept again (two context
// switches more per wake-up), and glibc made the woken worker's unlock a
// system call (about 1 µs on this VM; BENCHMARKS.md). On a node that is a
// wake-up per batch of answers the data plane's thread hands to a caller.
// meshnode runs this policy when `scheduler.policy` is "sharing" (the
// default).

#include <mutex>

#include <caf/policy/work_sharing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "actors/event_count.hpp"

namespace mesh {

class prompt_sharing : public caf::policy::work_sharing {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }

    queue_type queue;
    std::mutex lock;
    event_count jobs_added; ///< notified after every enqueue
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
    shared.jobs_added.notify_one();
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& shared = d(self->parent());
    for (;;) {
      if (auto* job = take(shared))
        return job;
      auto key = shared.jobs_added.prepare();
      if (auto* job = take(shared)) {
        shared.jobs_added.cancel();
        return job;
      }
      shared.jobs_added.wait(key);
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
};

} // namespace mesh
