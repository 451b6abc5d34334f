#pragma once

// prompt_sharing: CAF's work-sharing scheduler (one queue for all workers)
// with one change: a sleeping worker is woken after the queue's lock is
// released, not while it is held. CAF 0.17 notifies under the lock, so a
// worker woken on the same CPU takes it from the enqueuing thread, finds
// the lock still taken, and sleeps again until that thread runs and lets
// go: two context switches more per wake-up. On a node that is a wake-up
// per batch of answers the data plane's thread hands to a caller
// (BENCHMARKS.md, "A worker woken once"). meshnode runs this policy when
// `scheduler.policy` is "sharing" (the default).

#include <mutex>

#include <caf/policy/work_sharing.hpp>
#include <caf/resumable.hpp>

namespace mesh {

class prompt_sharing : public caf::policy::work_sharing {
public:
  template <class Coordinator>
  void enqueue(Coordinator* self, caf::resumable* job) {
    queue_type one; // its node is allocated outside the lock, as CAF does
    one.push_back(job);
    auto& shared = d(self);
    {
      std::lock_guard<std::mutex> guard{shared.lock};
      shared.queue.splice(shared.queue.end(), one);
    }
    // A waiter checks the queue under the lock, so none misses this job.
    shared.cv.notify_one();
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
};

} // namespace mesh
