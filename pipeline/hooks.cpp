#include "pipeline/hooks.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace mesh {

namespace {

constexpr size_t max_hook_name = 64;

bool is_hook_name(const std::string& x) {
  if (x.empty() || x.size() > max_hook_name)
    return false;
  for (char c : x) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

} // namespace

const char* to_string(hook_stage s) {
  switch (s) {
    case hook_stage::pre: return "pre";
    case hook_stage::post: return "post";
  }
  return "pre";
}

hook_verdict hook_entry::run(hook_call& call) {
  auto start = std::chrono::steady_clock::now();
  ++calls;
  hook_verdict verdict;
  bool threw = true;
  try {
    verdict = fn(call);
    threw = false;
  } catch (const std::exception& e) {
    verdict = hook_verdict::reject(status_code::handler_error,
                                   "hook " + name + " failed: " + e.what());
  } catch (...) {
    verdict = hook_verdict::reject(status_code::handler_error,
                                   "hook " + name
                                     + " failed: unknown exception");
  }
  if (threw)
    ++failed;
  else if (!verdict.ok())
    ++(stage == hook_stage::pre ? rejected : failed);
  auto elapsed = std::chrono::steady_clock::now() - start;
  total_us += static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
  return verdict;
}

void hook_table::add(std::string name, hook_stage stage, hook_fn fn,
                     bool builtin) {
  if (!is_hook_name(name))
    throw std::invalid_argument("invalid hook name '" + name
                                + "': use 1 to 64 letters, digits, '_', '.' "
                                  "or '-'");
  if (!fn)
    throw std::invalid_argument("hook '" + name + "' has no function");
  auto entry = std::make_shared<hook_entry>();
  entry->name = name;
  entry->stage = stage;
  entry->fn = std::move(fn);
  entry->builtin = builtin;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!hooks_.emplace(name, std::move(entry)).second)
    throw std::invalid_argument("hook '" + name + "' is already registered");
  ++version_;
}

hook_entry_ptr hook_table::find(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = hooks_.find(name);
  return i != hooks_.end() ? i->second : nullptr;
}

std::vector<hook_entry_ptr> hook_table::all() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<hook_entry_ptr> result;
  result.reserve(hooks_.size());
  for (const auto& [name, entry] : hooks_)
    result.push_back(entry);
  return result;
}

nlohmann::json hook_table::to_json() const {
  auto rows = nlohmann::json::array();
  for (const auto& h : all()) {
    auto calls = h->calls.load();
    auto mean = calls == 0 ? 0.0
                           : static_cast<double>(h->total_us.load())
                               / static_cast<double>(calls);
    rows.push_back({{"name", h->name},
                    {"stage", to_string(h->stage)},
                    {"builtin", h->builtin},
                    {"calls", calls},
                    {"rejected", h->rejected.load()},
                    {"failed", h->failed.load()},
                    {"mean_us", mean}});
  }
  return rows;
}

} // namespace mesh
