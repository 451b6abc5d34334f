#pragma once

// Backpressure (seed 002): jobs form a graph, an edge A -> B when one of
// A's outputs is one of B's inputs. A job whose queue passes its
// max_queue_depth, or whose oldest queued task is older than its
// max_queue_age, is under pressure; every job upstream of it (recursively)
// is paused: its events are kept, not turned into tasks. The pressure
// clears when the queue is back below 80 % of the threshold (hysteresis,
// so a job at the edge does not flap).

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tasks/jobs/job.hpp"

namespace mesh {

/// What the dispatcher knows about one job's queue right now.
struct queue_level {
  size_t depth = 0;        ///< queued tasks (not held, not leased)
  int64_t oldest_age_ms = 0; ///< age of the oldest queued task; 0: none
};

class pressure_graph {
public:
  /// Rebuilds the edges from the active jobs (after a load or reload);
  /// pressure already known for jobs that still exist is kept.
  void set_jobs(const std::map<std::string, job_ptr, std::less<>>& jobs);

  /// Feeds one job's level; returns true if its own pressure changed.
  bool update(const std::string& job, const queue_level& level);

  /// True if `job` is itself over its threshold.
  bool pressured(const std::string& job) const;

  /// The pressured jobs downstream of `job` that pause it (empty: it is
  /// not paused by backpressure). A job is never paused by itself.
  std::vector<std::string> paused_by(const std::string& job) const;

  /// True when any job is under pressure.
  bool any() const {
    return !pressured_.empty();
  }

  /// Jobs whose outputs feed `job` directly.
  const std::set<std::string>& upstream(const std::string& job) const;

private:
  std::map<std::string, job_ptr, std::less<>> jobs_;
  std::map<std::string, std::set<std::string>> up_;   ///< job -> feeders
  std::map<std::string, std::set<std::string>> down_; ///< job -> fed jobs
  std::set<std::string> pressured_;
};

} // namespace mesh
