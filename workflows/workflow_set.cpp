#include "workflows/workflow_set.hpp"

#include <set>
#include <utility>
#include <vector>

#include "config/manifests/shortest_chain.hpp"

namespace mesh {

namespace {

using nlohmann::json;
using workflow_map = std::map<std::string, workflow_ptr, std::less<>>;

json failure_json(const std::string& file, const manifest_load_error& err) {
  return {{"file", file}, {"errors", err.to_json()}, {"text", err.to_string()}};
}

// The problems of `w`'s sub-workflow steps that name no active workflow.
std::vector<manifest_problem>
unknown_calls(const workflow_definition& w, const workflow_map& active,
              const std::set<std::string>& dropped) {
  std::vector<manifest_problem> result;
  for (size_t i = 0; i < w.steps.size(); ++i) {
    const auto& s = w.steps[i];
    if (s.kind != step_kind::workflow || active.count(s.target) > 0)
      continue;
    result.push_back({"/steps/" + std::to_string(i) + "/workflow",
                      dropped.count(s.target) > 0
                          ? "workflow '" + s.target
                                + "' is not active: it fails its own checks"
                          : "unknown workflow '" + s.target + "'"});
  }
  return result;
}

// The workflows that call themselves through others, each with one problem
// at the step that enters the cycle ("sub-workflow cycle: a -> b -> a").
std::map<std::string, manifest_problem>
call_cycles(const workflow_map& active) {
  auto calls = [&](const std::string& x, auto&& visit) {
    if (auto w = active.find(x); w != active.end())
      for (const auto& s : w->second->steps)
        if (s.kind == step_kind::workflow)
          visit(s.target);
  };
  std::map<std::string, manifest_problem> result;
  for (const auto& [name, w] : active)
    for (size_t i = 0; i < w->steps.size(); ++i) {
      const auto& s = w->steps[i];
      if (s.kind != step_kind::workflow)
        continue;
      auto path = shortest_chain({s.target}, name, calls);
      if (path.empty())
        continue;
      std::string text = name;
      for (const auto& x : path)
        text += " -> " + x;
      result.emplace(
          name, manifest_problem{"/steps/" + std::to_string(i) + "/workflow",
                                 "sub-workflow cycle: " + text});
      break;
    }
  return result;
}

} // namespace

json workflow_set::load(const std::string& dir) {
  dir_ = dir;
  json report{{"loaded", json::array()},
              {"failed", json::array()},
              {"kept", json::array()},
              {"removed", json::array()}};
  std::vector<std::string> files;
  if (!dir.empty()) {
    std::string error;
    files = manifest_files(dir, error);
    if (!error.empty()) {
      // manifest_files speaks of a manifest folder; say what this one is.
      auto at = error.find(dir + ": ");
      auto reason
          = at == std::string::npos ? error : error.substr(at + dir.size() + 2);
      manifest_load_error err{dir,
                              {{"", "cannot read workflow folder: " + reason}}};
      report["failed"].push_back(failure_json(dir, err));
      // An unreadable folder says nothing about its workflows: they keep
      // running as they were rather than vanish on a transient error.
      for (const auto& [name, w] : active_)
        report["kept"].push_back(name);
      errors_.clear();
      errors_.emplace(dir, std::move(err));
      return report;
    }
  }
  // The name comes from the document, so one pass loads every file and a
  // second decides which failed file keeps its last good workflow: a
  // workflow freshly declared by a good file beats a stale kept version.
  workflow_map next;
  std::map<std::string, std::string> next_file;
  std::map<std::string, manifest_load_error> next_errors;
  std::map<std::string, std::string> declared; // failed file -> its workflow
  std::vector<std::string> loaded;             // in file order
  std::vector<std::string> kept;
  for (const auto& file : files) {
    auto result = load_workflow(file);
    if (auto* w = std::get_if<workflow_ptr>(&result)) {
      auto name = (*w)->name; // a copy: `result` is reassigned below
      if (next_file.count(name) == 0) {
        next.emplace(name, *w);
        next_file.emplace(name, file);
        loaded.push_back(name);
        continue;
      }
      result = manifest_load_error{
          file,
          {{"/name", "workflow name '" + name + "' is already declared in "
                         + next_file[name]}}};
    }
    next_errors.emplace(file, std::move(std::get<manifest_load_error>(result)));
  }
  for (const auto& [file, err] : next_errors) {
    // The workflow this file declared when it last loaded, if still active.
    for (const auto& [name, of] : file_of_) {
      if (of != file || active_.count(name) == 0)
        continue;
      declared[file] = name;
      if (next.count(name) == 0) {
        next.emplace(name, active_.at(name));
        next_file.emplace(name, file);
        kept.push_back(name);
      }
      break;
    }
  }
  // Sub-workflows must be active and must not call each other in a cycle.
  // Dropping one workflow may leave another calling it: repeat until none
  // changes.
  std::set<std::string> dropped;
  auto drop = [&](const std::string& name,
                  const std::vector<manifest_problem>& problems) {
    const auto& file = next_file.at(name);
    auto& err = next_errors.try_emplace(file, manifest_load_error{file, {}})
                    .first->second;
    bool stale = !err.problems.empty(); // a kept version of a failed file
    for (auto p : problems) {
      if (stale)
        p.message = "its last good version: " + p.message;
      err.problems.push_back(std::move(p));
    }
    declared[file] = name;
    dropped.insert(name);
    next.erase(name);
    next_file.erase(name);
  };
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<std::pair<std::string, std::vector<manifest_problem>>> bad;
    for (const auto& [name, w] : next)
      if (auto ps = unknown_calls(*w, next, dropped); !ps.empty())
        bad.emplace_back(name, std::move(ps));
    if (bad.empty())
      for (auto& [name, p] : call_cycles(next))
        bad.emplace_back(name, std::vector<manifest_problem>{std::move(p)});
    for (const auto& [name, ps] : bad)
      drop(name, ps);
    changed = !bad.empty();
  }
  for (const auto& name : loaded)
    if (next.count(name) > 0)
      report["loaded"].push_back(name);
  for (const auto& name : kept)
    if (next.count(name) > 0)
      report["kept"].push_back(name);
  for (const auto& [file, err] : next_errors) {
    auto entry = failure_json(file, err);
    if (auto i = declared.find(file); i != declared.end())
      entry["workflow"] = i->second;
    report["failed"].push_back(std::move(entry));
  }
  for (const auto& [name, w] : active_)
    if (next.count(name) == 0)
      report["removed"].push_back(name);
  active_ = std::move(next);
  file_of_ = std::move(next_file);
  errors_ = std::move(next_errors);
  return report;
}

workflow_ptr workflow_set::find(const std::string& name) const {
  auto i = active_.find(name);
  return i == active_.end() ? nullptr : i->second;
}

json workflow_set::describe() const {
  // An unreadable folder keeps every workflow as it was.
  bool folder_failed = !dir_.empty() && errors_.count(dir_) > 0;
  auto list = json::array();
  for (const auto& [name, w] : active_) {
    auto file = file_of_.find(name);
    bool kept = folder_failed
                || (file != file_of_.end() && errors_.count(file->second) > 0);
    list.push_back({{"name", name},
                    {"file", w->file},
                    {"description", w->description},
                    {"mode", to_string(w->mode)},
                    {"on_failure", to_string(w->on_failure)},
                    {"steps", w->steps.size()},
                    {"status", kept ? "kept" : "loaded"}});
  }
  auto errors = json::array();
  for (const auto& [file, err] : errors_)
    errors.push_back(failure_json(file, err));
  return {{"dir", dir_},
          {"workflows", std::move(list)},
          {"errors", std::move(errors)}};
}

} // namespace mesh
