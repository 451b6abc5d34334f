#include "http/http_counter.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mesh {

namespace {

using clock_type = std::chrono::steady_clock;

/// This thread's request since it was routed: when, and its route (none:
/// not routed, or answered).
struct routed_request {
  clock_type::time_point at;
  size_t route;
};
thread_local std::optional<routed_request> routed;

// The statuses the API answers; the last code is everything else.
constexpr int statuses[] = {200, 400, 401, 403, 404, 405, 408,
                            413, 414, 429, 500, 503, 504};
size_t code_index(int status) { // one past the statuses: "other"
  auto i = std::find(std::begin(statuses), std::end(statuses), status);
  return static_cast<size_t>(i - std::begin(statuses));
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

/// The routes of fixed paths, first in the counts: a path is `route`
/// itself (no `prefix`), or `prefix` + one segment + `suffix`.
struct fixed_route {
  const char* verb;
  const char* route;
  std::string_view prefix;
  std::string_view suffix;
};

constexpr fixed_route fixed_routes[] = {
  {"GET", "/", {}, {}},
  {"GET", "/healthz", {}, {}},
  {"GET", "/readyz", {}, {}},
  {"GET", "/metrics", {}, {}},
  {"GET", "/v1/workflows/{name}", "/v1/workflows/", {}},
  {"GET", "/v1/runs/{id}", "/v1/runs/", {}},
  {"GET", "/v1/jobs/{id}", "/v1/jobs/", {}},
  {"GET", "/v1/traces/{id}", "/v1/traces/", {}},
  {"POST", "/v1/runs/{id}/cancel", "/v1/runs/", "/cancel"},
};
constexpr size_t fixed_count = std::size(fixed_routes);

bool matches(const fixed_route& r, std::string_view verb,
             std::string_view path) {
  if (verb != r.verb)
    return false;
  if (r.prefix.empty())
    return path == r.route;
  return ends_with(path, r.suffix)
         && one_segment_after(path.substr(0, path.size() - r.suffix.size()),
                              r.prefix);
}

} // namespace

http_counter::http_counter(const std::vector<std::string>& commands)
  : commands_(commands) {
  std::sort(commands_.begin(), commands_.end());
  // In index_of's order: the fixed routes, then GET and POST of each
  // command, then "other" for GET, POST and any verb.
  for (const auto& r : fixed_routes)
    routes_.push_back({r.verb, r.route});
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
  auto other = routes_.size() - 1;
  bool get = verb == "GET";
  if (!get && verb != "POST")
    return other;
  std::string_view p{path};
  for (size_t i = 0; i < fixed_count; ++i)
    if (matches(fixed_routes[i], verb, p))
      return i;
  auto other_of_verb = get ? other - 2 : other - 1;
  if (!one_segment_after(p, "/v1/"))
    return other_of_verb;
  auto name = p.substr(4);
  auto i = std::lower_bound(commands_.begin(), commands_.end(), name);
  if (i == commands_.end() || *i != name)
    return other_of_verb;
  auto n = static_cast<size_t>(i - commands_.begin());
  return fixed_count + 2 * n + (get ? 0 : 1);
}

std::string http_counter::route_of(const std::string& verb,
                                   const std::string& path) const {
  return routes_[index_of(verb, path)].method;
}

void http_counter::started(const std::string& verb, const std::string& path) {
  auto i = index_of(verb, path);
  counts_->started(i);
  routed = routed_request{clock_type::now(), i};
}

void http_counter::answered(const std::string& verb, const std::string& path,
                            int status) {
  // The route found at routing (httplib keeps the request's path); a
  // request refused before routing is counted as started now, with no
  // duration.
  size_t i = 0;
  auto took = clock_type::duration::zero();
  if (routed) {
    i = routed->route;
    took = clock_type::now() - routed->at;
    routed.reset();
  } else {
    i = index_of(verb, path);
    counts_->started(i);
  }
  counts_->handled(i, code_index(status), took);
}

nlohmann::json http_counter::to_json() const {
  return counts_->to_json(true);
}

} // namespace mesh
