// The functions plug-ins register to run tasks: `dispatcher` targets by
// name, and whole kinds (a kind's function gets every target of its jobs).

#include <algorithm>
#include <stdexcept>

#include "actors/tasks/task_dispatcher.hpp"
#include "tasks/jobs/job.hpp"

namespace mesh {

namespace {

bool is_builtin(const std::string& kind) {
  const auto& xs = builtin_task_kinds();
  return std::find(xs.begin(), xs.end(), kind) != xs.end();
}

} // namespace

void task_functions::add_dispatcher(const std::string& name, task_function fn) {
  if (name.empty() || !fn)
    throw std::invalid_argument("a task dispatcher needs a name and a function");
  std::lock_guard<std::mutex> guard{mtx_};
  if (!dispatchers_.emplace(name, std::move(fn)).second)
    throw std::invalid_argument("task dispatcher '" + name
                                + "' is already registered");
}

void task_functions::add_kind(const std::string& kind, task_function fn) {
  if (kind.empty() || !fn)
    throw std::invalid_argument("a task kind needs a name and a function");
  if (is_builtin(kind))
    throw std::invalid_argument("task kind '" + kind + "' is built in");
  std::lock_guard<std::mutex> guard{mtx_};
  if (!kinds_.emplace(kind, std::move(fn)).second)
    throw std::invalid_argument("task kind '" + kind + "' is already registered");
}

task_function task_functions::find(const std::string& kind,
                                   const std::string& target) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (kind == "dispatcher") {
    auto i = dispatchers_.find(target);
    return i != dispatchers_.end() ? i->second : task_function{};
  }
  auto i = kinds_.find(kind);
  return i != kinds_.end() ? i->second : task_function{};
}

std::vector<std::string> task_functions::kinds() const {
  auto out = builtin_task_kinds();
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& [k, fn] : kinds_)
    out.push_back(k);
  return out;
}

std::string task_functions::check(const std::string& kind,
                                  const std::string& target) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (kind == "dispatcher") {
    if (dispatchers_.count(target) != 0)
      return {};
    std::string known;
    for (const auto& [name, fn] : dispatchers_)
      known += (known.empty() ? "" : ", ") + name;
    return "no task dispatcher named '" + target + "' is registered (known: "
           + (known.empty() ? "none" : known) + ")";
  }
  if (kinds_.count(kind) == 0)
    return "no plug-in registered task kind '" + kind + "'";
  return {};
}

} // namespace mesh
