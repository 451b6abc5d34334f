#include "config/manifests/manifest_set.hpp"

#include <filesystem>
#include <set>

namespace mesh {

namespace {


} // namespace

nlohmann::json manifest_set::load(const std::string& dir) {
  dir_ = dir;
  nlohmann::json report{{"loaded", nlohmann::json::array()},
                        {"failed", nlohmann::json::array()},
                        {"kept", nlohmann::json::array()},
                        {"removed", nlohmann::json::array()}};
  std::set<std::string> seen;
  if (!dir.empty()) {
    std::string error;
    auto files = manifest_files(dir, error);
    if (!error.empty()) {
      // One failure naming the folder (as jobs and workflows report it):
      // a reload that could not read it must not look like a success.
      manifest_load_error err{dir, {{"", error}}};
      report["failed"].push_back({{"file", dir},
                                  {"errors", err.to_json()},
                                  {"text", err.to_string()}});
    }
    for (const auto& file : files) {
      auto name = std::filesystem::path{file}.stem().string();
      seen.insert(name);
      auto result = load_manifest(file);
      if (auto* m = std::get_if<manifest_ptr>(&result)) {
        active_[name] = *m;
        errors_.erase(name);
        report["loaded"].push_back(name);
        continue;
      }
      auto& err = std::get<manifest_load_error>(result);
      report["failed"].push_back({{"process", name},
                                  {"file", file},
                                  {"errors", err.to_json()},
                                  {"text", err.to_string()}});
      if (active_.count(name) > 0)
        report["kept"].push_back(name); // last good version stays active
      errors_[name] = std::move(err);
    }
  }
  for (auto i = active_.begin(); i != active_.end();) {
    if (seen.count(i->first) == 0) {
      report["removed"].push_back(i->first);
      i = active_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = errors_.begin(); i != errors_.end();)
    i = seen.count(i->first) == 0 ? errors_.erase(i) : std::next(i);
  return report;
}

manifest_ptr manifest_set::find(const std::string& process) const {
  auto i = active_.find(process);
  return i == active_.end() ? nullptr : i->second;
}

nlohmann::json manifest_set::list() const {
  auto list = nlohmann::json::array();
  std::set<std::string> names;
  for (const auto& [name, m] : active_)
    names.insert(name);
  for (const auto& [name, err] : errors_)
    names.insert(name);
  for (const auto& name : names) {
    auto m = find(name);
    auto e = errors_.find(name);
    nlohmann::json row{{"process", name}};
    if (m) {
      row["strategy"] = m->chooser->name();
      row["variants"] = m->variants.size();
      row["owner"] = m->owner;
      row["file"] = m->file;
    }
    if (e == errors_.end())
      row["status"] = "ok";
    else if (m)
      row["status"] = "error (last good version active)";
    else
      row["status"] = "error (not loaded)";
    if (e != errors_.end())
      row["error"] = e->second.to_string();
    list.push_back(std::move(row));
  }
  return list;
}

nlohmann::json manifest_set::show(const std::string& process) const {
  auto m = find(process);
  auto e = errors_.find(process);
  if (!m && e == errors_.end())
    return nullptr;
  nlohmann::json result{{"process", process}};
  if (m) {
    result["file"] = m->file;
    result["strategy"] = m->chooser->name();
    result["manifest"] = m->source;
  }
  if (e != errors_.end())
    result["errors"] = e->second.to_json();
  result["status"] = e == errors_.end() ? "ok" : "error";
  return result;
}

} // namespace mesh
