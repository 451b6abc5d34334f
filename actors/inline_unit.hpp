#pragma once

// inline_unit: a CAF execution unit for a thread CAF does not own (one of
// gRPC's, the data plane's). A message such a thread sends to an idle actor
// would wake a CAF worker to run that actor; through this unit the actor
// runs here and now, for up to the scheduler's max-throughput messages,
// and an actor it wakes in turn runs here after it. An actor with more to
// do than that, or one the unit's filter refuses, is handed to CAF's
// scheduler, as a worker would hand it back: all at once when the jobs
// running here are done, so a worker wakes once for them.
//
// So the router takes a call a gRPC thread hands it, in that thread, and an
// inline handler's answer finishes the call there too: neither a CAF worker
// nor gRPC's poller (for a call finished from a thread of CAF's) is woken,
// the path of a bare gRPC server (issue 17, section 5). Likewise the data
// plane's thread runs the router or a peer's ingress a frame is for
// (issue 16). An actor that is running elsewhere just gets the message in
// its mailbox, as before.
//
// A unit may be told how long each job ran (`watch`): the data plane's
// watch names a job that held its thread, which every link waited for.
//
// One per thread (here()); jobs never leave the thread that made them.

#include <chrono>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <memory>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace mesh {

class inline_unit final : public caf::execution_unit {
public:
  /// Whether a job may run in this thread (null: every job); one it refuses
  /// goes to CAF's scheduler.
  using filter = bool (*)(caf::resumable*);

  /// Told how long each job ran here, right after it ran (null: no clock
  /// is read). Must not throw.
  using watch = void (*)(caf::resumable*, std::chrono::nanoseconds) noexcept;

  /// This thread's unit for `sys`, `admit` and `ran`; null while this
  /// thread runs a unit of another kind (CAF then schedules as usual).
  static inline_unit* here(caf::actor_system& sys, filter admit = nullptr,
                           watch ran = nullptr) {
    thread_local std::unique_ptr<inline_unit> unit;
    if (unit && unit->running_)
      return unit->is(sys, admit, ran) ? unit.get() : nullptr;
    if (!unit || !unit->is(sys, admit, ran))
      unit.reset(new inline_unit(sys, admit, ran));
    return unit.get();
  }

  void exec_later(caf::resumable* job) override {
    if (admit_ != nullptr && !admit_(job)) {
      to_scheduler(job);
      return;
    }
    if (running_) { // woken by the job running here: after it
      later_.push_back(job);
      return;
    }
    running_ = true;
    run(job);
    while (!later_.empty()) {
      auto* next = later_.front();
      later_.pop_front();
      run(next);
    }
    running_ = false;
    for (auto* left : for_workers_)
      system().scheduler().enqueue(left); // keeps the reference
    for_workers_.clear();
  }

private:
  inline_unit(caf::actor_system& sys, filter admit, watch ran)
    : caf::execution_unit(&sys),
      admit_(admit),
      ran_(ran),
      max_throughput_(sys.scheduler().max_throughput()) {
  }

  bool is(caf::actor_system& sys, filter admit, watch ran) const {
    return &system() == &sys && admit_ == admit && ran_ == ran;
  }

  // A job for CAF's workers. While jobs run here it waits until they are
  // done: waking a worker at once lets it take the CPU from this thread
  // (the kernel favours a thread that just woke), so it would run, say, a
  // caller with the first of a batch's answers and go back to sleep, then
  // wake again for the rest. Handed over together, the worker wakes once
  // and finds them all.
  void to_scheduler(caf::resumable* job) {
    if (running_)
      for_workers_.push_back(job);
    else
      system().scheduler().enqueue(job); // keeps the reference
  }

  // As a CAF worker runs a job: the reference the enqueue took is ours.
  void run(caf::resumable* job) {
    auto started = ran_ != nullptr ? std::chrono::steady_clock::now()
                                   : std::chrono::steady_clock::time_point{};
    auto outcome = job->resume(this, max_throughput_);
    if (ran_ != nullptr) // the reference is still ours: job is alive
      ran_(job, std::chrono::steady_clock::now() - started);
    switch (outcome) {
      case caf::resumable::resume_later:
        to_scheduler(job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
      case caf::resumable::shutdown_execution_unit:
        caf::intrusive_ptr_release(job);
        break;
    }
  }

  filter admit_;
  watch ran_;
  size_t max_throughput_;
  bool running_ = false;
  std::deque<caf::resumable*> later_;
  std::vector<caf::resumable*> for_workers_;
};

/// The name of the actor `job` is (actors/actor_names.hpp); null when it
/// is no actor.
inline const char* actor_name(caf::resumable* job) noexcept {
  // By subtype, not dynamic_cast: a cross-cast between CAF's bases, across
  // shared objects, cost more than the rest of a filter, once per message
  // handed over. Every event-based actor and broker is a scheduled_actor.
  switch (job->subtype()) {
    case caf::resumable::scheduled_actor:
    case caf::resumable::io_actor:
      return static_cast<caf::scheduled_actor*>(job)->name();
    default:
      return nullptr;
  }
}

/// Whether `name` (not null) is one of `names`.
inline bool is_one_of(const char* name,
                      std::initializer_list<const char*> names) noexcept {
  for (const char* n : names)
    if (std::strcmp(name, n) == 0)
      return true;
  return false;
}

/// For filters: whether `job` is an actor named one of `names`.
inline bool is_actor_named(caf::resumable* job,
                           std::initializer_list<const char*> names) noexcept {
  const char* name = actor_name(job);
  return name != nullptr && is_one_of(name, names);
}

} // namespace mesh
