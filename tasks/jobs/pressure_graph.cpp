#include "tasks/jobs/pressure_graph.hpp"

#include <deque>

namespace mesh {

void pressure_graph::set_jobs(
    const std::map<std::string, job_ptr, std::less<>>& jobs) {
  jobs_ = jobs;
  up_.clear();
  down_.clear();
  std::map<std::string, std::set<std::string>> producers; // dataset -> jobs
  for (const auto& [id, job] : jobs_)
    if (job)
      for (const auto& out : job->outputs)
        producers[out].insert(id);
  for (const auto& [id, job] : jobs_) {
    if (!job)
      continue;
    for (const auto& in : job->inputs) {
      auto i = producers.find(in);
      if (i == producers.end())
        continue;
      for (const auto& from : i->second) {
        if (from == id) // parse_job rejects it; never an edge to itself
          continue;
        down_[from].insert(id);
        up_[id].insert(from);
      }
    }
  }
  for (auto i = pressured_.begin(); i != pressured_.end();)
    i = jobs_.count(*i) == 0 ? pressured_.erase(i) : std::next(i);
}

bool pressure_graph::update(const std::string& job, const queue_level& level) {
  auto i = jobs_.find(job);
  if (i == jobs_.end() || !i->second)
    return false;
  auto max_depth = static_cast<double>(i->second->max_queue_depth);
  auto max_age = static_cast<double>(i->second->max_queue_age.count());
  auto depth = static_cast<double>(level.depth);
  auto age
      = static_cast<double>(level.oldest_age_ms < 0 ? 0 : level.oldest_age_ms);
  bool was = pressured_.count(job) > 0;
  bool now;
  if (!was) {
    now = (max_depth > 0 && depth > max_depth)
          || (max_age > 0 && age > max_age);
  } else {
    // Hysteresis: clear only once every set threshold is comfortably
    // passed, so a queue hovering at its limit does not flap.
    bool depth_ok = max_depth == 0 || depth < 0.8 * max_depth;
    bool age_ok = max_age == 0 || age < 0.8 * max_age;
    now = !(depth_ok && age_ok);
  }
  if (now == was)
    return false;
  if (now)
    pressured_.insert(job);
  else
    pressured_.erase(job);
  return true;
}

bool pressure_graph::pressured(const std::string& job) const {
  return pressured_.count(job) > 0;
}

std::vector<std::string>
pressure_graph::paused_by(const std::string& job) const {
  std::vector<std::string> result;
  if (pressured_.empty())
    return result;
  // Breadth-first along down_; `seen` starts with `job` so that a cycle
  // back to it neither loops nor makes it pause itself.
  std::set<std::string> seen{job};
  std::set<std::string> found;
  std::deque<std::string> pending{job};
  while (!pending.empty()) {
    auto cur = std::move(pending.front());
    pending.pop_front();
    auto i = down_.find(cur);
    if (i == down_.end())
      continue;
    for (const auto& next : i->second) {
      if (!seen.insert(next).second)
        continue;
      if (pressured_.count(next) > 0)
        found.insert(next);
      pending.push_back(next);
    }
  }
  result.assign(found.begin(), found.end());
  return result;
}

const std::set<std::string>&
pressure_graph::upstream(const std::string& job) const {
  static const std::set<std::string> none;
  auto i = up_.find(job);
  return i == up_.end() ? none : i->second;
}

} // namespace mesh
