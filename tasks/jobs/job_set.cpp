#include "tasks/jobs/job_set.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "config/manifests/shortest_chain.hpp"

namespace mesh {

namespace {

/// The jobs that feed each other in a circle (A writes what B reads, ...,
/// back to A): each event would create tasks forever. For each, the
/// problem at its output that closes the circle.
std::map<std::string, manifest_problem>
dataset_cycles(const std::map<std::string, job_ptr, std::less<>>& jobs) {
  auto feeds
      = [](const job_definition& a, const job_definition& b, size_t& at) {
          for (at = 0; at < a.outputs.size(); ++at)
            if (std::find(b.inputs.begin(), b.inputs.end(), a.outputs[at])
                != b.inputs.end())
              return true;
          return false;
        };
  auto readers = [&](const std::string& x, auto&& visit) {
    size_t at = 0;
    for (const auto& [other, j] : jobs)
      if (feeds(*jobs.at(x), *j, at))
        visit(other);
  };
  std::map<std::string, manifest_problem> result;
  for (const auto& [id, start] : jobs) {
    // The shortest chain from `start`'s readers back to `start`.
    std::vector<std::string> first;
    readers(id, [&](const std::string& y) { first.push_back(y); });
    auto path = shortest_chain(first, id, readers);
    if (path.empty())
      continue;
    std::string text = id;
    for (const auto& x : path)
      text += " -> " + x;
    size_t at = 0;
    feeds(*start, *jobs.at(path.front()), at);
    result.emplace(
        id, manifest_problem{"/outputs/" + std::to_string(at),
                             "dataset cycle: " + text
                                 + " (each event would create tasks forever)"});
  }
  return result;
}

/// Jobs writing a dataset another job writes too: the events of both would
/// share partition and cursor, and the second would be taken for a replay
/// of the first (its readers would never see it). A dataset a job active
/// `before` already wrote stays its own (a new or changed file cannot take
/// it from a running job); the other jobs then claim their outputs in id
/// order, all of them or none: a job that would share one is refused with
/// the problem at that output, and claims nothing.
std::map<std::string, manifest_problem>
shared_outputs(const std::map<std::string, job_ptr, std::less<>>& jobs,
               const std::map<std::string, job_ptr, std::less<>>& before) {
  std::map<std::string, std::string> writer; // dataset -> the job keeping it
  for (const auto& [id, j] : jobs)
    if (auto old = before.find(id); old != before.end())
      for (const auto& ds : j->outputs)
        if (std::find(old->second->outputs.begin(), old->second->outputs.end(),
                      ds)
            != old->second->outputs.end())
          writer.try_emplace(ds, id);
  std::map<std::string, manifest_problem> result;
  for (const auto& [id, j] : jobs) {
    size_t clash = j->outputs.size();
    for (size_t i = 0; i < j->outputs.size() && clash == j->outputs.size();
         ++i)
      if (auto at = writer.find(j->outputs[i]);
          at != writer.end() && at->second != id)
        clash = i;
    if (clash == j->outputs.size()) {
      for (const auto& ds : j->outputs)
        writer.try_emplace(ds, id);
      continue;
    }
    const auto& ds = j->outputs[clash];
    result.emplace(id, manifest_problem{
                         "/outputs/" + std::to_string(clash),
                         "dataset '" + ds + "' is also written by job '"
                           + writer.at(ds)
                           + "': a dataset has one writing job (events of "
                             "both would share partition and cursor, and "
                             "one would be taken for the other)"});
  }
  return result;
}

nlohmann::json failure_json(const std::string& file,
                            const manifest_load_error& err) {
  return {{"file", file},
          {"errors", err.to_json()},
          {"text", err.to_string()}};
}

} // namespace

nlohmann::json job_set::load(const std::string& dir,
                             const runtime_table& runtimes,
                             const target_check& check) {
  dir_ = dir;
  nlohmann::json report{{"loaded", nlohmann::json::array()},
                        {"failed", nlohmann::json::array()},
                        {"kept", nlohmann::json::array()},
                        {"removed", nlohmann::json::array()}};
  std::vector<std::string> files;
  if (!dir.empty()) {
    std::string error;
    files = manifest_files(dir, error);
    if (!error.empty()) {
      // manifest_files speaks of a manifest folder; say what this one is.
      auto at = error.find(dir + ": ");
      auto reason
          = at == std::string::npos ? error : error.substr(at + dir.size() + 2);
      manifest_load_error err{dir, {{"", "cannot read job folder: " + reason}}};
      report["failed"].push_back(failure_json(dir, err));
      // An unreadable folder says nothing about the jobs in it: they all
      // keep running as they were rather than vanish on a transient error.
      for (const auto& [id, job] : active_)
        report["kept"].push_back(id);
      errors_.clear();
      errors_.emplace(dir, std::move(err));
      return report;
    }
  }
  // The id comes from the document, so one pass loads every file and a
  // second decides which failed file keeps its last good job: a job freshly
  // declared by a good file beats a stale kept version of the same id.
  std::map<std::string, job_ptr, std::less<>> next;
  std::map<std::string, std::string> next_file;
  std::map<std::string, manifest_load_error> next_errors;
  std::vector<std::string> failed; // in file order
  for (const auto& file : files) {
    auto result = load_job(file, runtimes, check);
    if (auto* job = std::get_if<job_ptr>(&result)) {
      auto id = (*job)->id; // a copy: `result` is reassigned below
      if (auto i = next_file.find(id); i == next_file.end()) {
        next.emplace(id, *job);
        next_file.emplace(id, file);
        report["loaded"].push_back(id);
        continue;
      }
      result = manifest_load_error{
          file,
          {{"/id",
            "job id '" + id + "' is already declared in " + next_file[id]}}};
    }
    next_errors.emplace(file, std::move(std::get<manifest_load_error>(result)));
    failed.push_back(file);
  }
  for (const auto& file : failed) {
    const auto& err = next_errors.at(file);
    auto entry = failure_json(file, err);
    // The job this file declared when it last loaded, if still active.
    for (const auto& [id, of] : file_of_) {
      if (of != file || active_.count(id) == 0)
        continue;
      entry["job"] = id;
      if (next.count(id) == 0) {
        next.emplace(id, active_.at(id));
        next_file.emplace(id, file);
        report["kept"].push_back(id);
      }
      break;
    }
    report["failed"].push_back(std::move(entry));
  }
  // Jobs sharing an output, then jobs in a circle, are refused, their files
  // named (kept ones too: an old version can clash with a new one).
  auto refuse = [&](const std::string& id, manifest_problem problem) {
    auto file = next_file[id];
    for (const char* list : {"loaded", "kept"}) {
      auto& ids = report[list];
      ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    }
    manifest_load_error err{file, {problem}};
    auto entry = failure_json(file, err);
    entry["job"] = id;
    report["failed"].push_back(std::move(entry));
    // A kept job's file has its own error already: the cycle joins it.
    auto [at, fresh] = next_errors.try_emplace(file, std::move(err));
    if (!fresh)
      at->second.problems.push_back(std::move(problem));
    next.erase(id);
    next_file.erase(id);
  };
  for (auto& [id, problem] : shared_outputs(next, active_))
    refuse(id, std::move(problem));
  for (auto& [id, problem] : dataset_cycles(next))
    refuse(id, std::move(problem));
  for (const auto& [id, job] : active_)
    if (next.count(id) == 0)
      report["removed"].push_back(id);
  active_ = std::move(next);
  file_of_ = std::move(next_file);
  errors_ = std::move(next_errors);
  return report;
}

job_ptr job_set::find(const std::string& id) const {
  auto i = active_.find(id);
  return i == active_.end() ? nullptr : i->second;
}

} // namespace mesh
