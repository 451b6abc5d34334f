#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace mesh {

/// Where a handler executor runs user code. The executor never submits more
/// jobs at once than its concurrency bound; the runner only has to run them
/// off CAF's scheduler threads. Tests substitute a runner they drive by hand.
class job_runner {
public:
  virtual ~job_runner() = default;

  /// Runs `job` soon, on some thread other than the caller's.
  virtual void submit(std::function<void()> job) = 0;
};

using job_runner_ptr = std::shared_ptr<job_runner>;

/// Makes the runner of one executor, sized for `max_concurrency` jobs.
using job_runner_factory = std::function<job_runner_ptr(size_t max_concurrency)>;

/// A pool of up to `max_threads` threads, started on demand. On destruction
/// it waits up to `grace` for running jobs, then detaches threads still stuck
/// in user code (a hung handler must not hang the node's shutdown).
job_runner_ptr make_thread_runner(std::string name, size_t max_threads,
                                  std::chrono::milliseconds grace
                                  = std::chrono::milliseconds{2000});

/// The factory the node uses: thread runners named after the handler.
job_runner_factory default_runner_factory(std::string name);

} // namespace mesh
