#include "http/http_counter.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mesh {

namespace {

using clock_type = std::chrono::steady_clock;

/// When this thread's request was routed (none: not routed, or answered).
thread_local std::optional<clock_type::time_point> routed_at;

// The statuses the API answers; the last code is everything else.
constexpr int statuses[] = {200, 400, 401, 403, 404, 405, 408,
                            413, 414, 429, 500, 503, 504};
constexpr size_t status_count = sizeof(statuses) / sizeof(statuses[0]);

size_t code_index(int status) {
  auto i = std::find(std::begin(statuses), std::end(statuses), status);
  return static_cast<size_t>(i - std::begin(statuses)); // status_count: other
}

std::vector<std::string> code_names() {
  std::vector<std::string> out;
  for (int s : statuses)
    out.push_back(std::to_string(s));
  out.emplace_back("other");
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.substr(s.size() - suffix.size()) == suffix;
}

/// One segment after `prefix` (no further slash, not empty).
bool one_segment_after(std::string_view path, std::string_view prefix) {
  if (!starts_with(path, prefix) || path.size() == prefix.size())
    return false;
  return path.find('/', prefix.size()) == std::string_view::npos;
}

} // namespace

http_counter::http_counter(const std::vector<std::string>& commands)
  : commands_(commands) {
  std::sort(commands_.begin(), commands_.end());
  // In index_of's order: the fixed routes, then GET and POST of each
  // command, then "other" for GET, POST and any verb.
  routes_ = {{"GET", "/"},
             {"GET", "/healthz"},
             {"GET", "/readyz"},
             {"GET", "/metrics"},
             {"GET", "/v1/workflows/{name}"},
             {"GET", "/v1/runs/{id}"},
             {"GET", "/v1/jobs/{id}"},
             {"GET", "/v1/traces/{id}"},
             {"POST", "/v1/runs/{id}/cancel"}};
  for (const auto& c : commands_) {
    routes_.push_back({"GET", "/v1/" + c});
    routes_.push_back({"POST", "/v1/" + c});
  }
  routes_.push_back({"GET", "other"});
  routes_.push_back({"POST", "other"});
  routes_.push_back({"other", "other"});
  counts_ = std::make_unique<call_counts>(routes_, code_names(),
                                          std::pair<std::string, std::string>{
                                            "verb", "route"});
}

size_t http_counter::index_of(const std::string& verb,
                              const std::string& path) const {
  constexpr size_t fixed = 9;
  auto other = routes_.size() - 1;
  bool get = verb == "GET";
  if (!get && verb != "POST")
    return other;
  auto other_of_verb = get ? other - 2 : other - 1;
  std::string_view p{path};
  if (get) {
    for (size_t i = 0; i < 4; ++i)
      if (p == routes_[i].method)
        return i;
    if (one_segment_after(p, "/v1/workflows/"))
      return 4;
    if (one_segment_after(p, "/v1/runs/"))
      return 5;
    if (one_segment_after(p, "/v1/jobs/"))
      return 6;
    if (one_segment_after(p, "/v1/traces/"))
      return 7;
  } else if (ends_with(p, "/cancel")
             && one_segment_after(p.substr(0, p.size() - 7), "/v1/runs/")) {
    return 8;
  }
  if (!one_segment_after(p, "/v1/"))
    return other_of_verb;
  auto name = p.substr(4);
  auto i = std::lower_bound(commands_.begin(), commands_.end(), name);
  if (i == commands_.end() || *i != name)
    return other_of_verb;
  auto n = static_cast<size_t>(i - commands_.begin());
  return fixed + 2 * n + (get ? 0 : 1);
}

std::string http_counter::route_of(const std::string& verb,
                                   const std::string& path) const {
  return routes_[index_of(verb, path)].method;
}

void http_counter::started(const std::string& verb, const std::string& path) {
  counts_->started(index_of(verb, path));
  routed_at = clock_type::now();
}

void http_counter::answered(const std::string& verb, const std::string& path,
                            int status) {
  auto i = index_of(verb, path);
  auto took = clock_type::duration::zero();
  if (routed_at) {
    took = clock_type::now() - *routed_at;
    routed_at.reset();
  } else {
    counts_->started(i); // refused before routing
  }
  counts_->handled(i, code_index(status), took);
}

nlohmann::json http_counter::to_json() const {
  return counts_->to_json(true);
}

} // namespace mesh
