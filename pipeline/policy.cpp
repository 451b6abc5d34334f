#include "pipeline/policy.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace mesh {

namespace {

/// Splits "a/b/c" into its three segments; false for any other shape.
bool split_match(std::string_view match, std::string_view (&out)[3]) {
  for (int i = 0; i < 2; ++i) {
    auto slash = match.find('/');
    if (slash == std::string_view::npos)
      return false;
    out[i] = match.substr(0, slash);
    match.remove_prefix(slash + 1);
  }
  if (match.find('/') != std::string_view::npos)
    return false;
  out[2] = match;
  return true;
}

nlohmann::json ms(std::chrono::milliseconds x) {
  return static_cast<int64_t>(x.count());
}

} // namespace

bool retry_settings::retries(status_code code) const {
  return std::find(retry_on.begin(), retry_on.end(), code) != retry_on.end();
}

uint32_t policy::score(std::string_view ns, std::string_view service,
                       std::string_view method) const {
  std::string_view seg[3];
  if (!split_match(match, seg))
    return 0;
  std::string_view path[3] = {ns, service, method};
  // The count of literal segments decides first (8 per segment); on equal
  // counts the weights 4 / 2 / 1 put the namespace before the service and
  // the service before the method, as the header promises.
  static constexpr uint32_t weight[3] = {4, 2, 1};
  uint32_t literals = 0;
  uint32_t order = 0;
  for (int i = 0; i < 3; ++i) {
    if (seg[i] == "*")
      continue;
    if (seg[i] != path[i])
      return 0;
    ++literals;
    order += weight[i];
  }
  return 1 + literals * 8 + order;
}

nlohmann::json policy::to_json() const {
  nlohmann::json retry_on_names = nlohmann::json::array();
  for (auto code : retry.retry_on)
    retry_on_names.push_back(mesh::to_string(code));
  nlohmann::json hedging_json{{"enabled", hedging.enabled},
                              {"delay_ms", ms(hedging.delay)},
                              {"adaptive", hedging.adaptive}};
  return {
    {"name", name},
    {"match", match},
    {"timeout_ms", timeout ? ms(*timeout) : nlohmann::json(nullptr)},
    {"retry",
     {{"max_attempts", retry.max_attempts},
      {"per_try_timeout_ms", ms(retry.per_try_timeout)},
      {"initial_ms", ms(retry.initial)},
      {"multiplier", retry.multiplier},
      {"max_ms", ms(retry.max)},
      {"jitter", retry.jitter},
      {"retry_on", std::move(retry_on_names)}}},
    {"retry_budget",
     {{"percent", retry_budget.percent},
      {"min_concurrency", retry_budget.min_concurrency}}},
    {"outlier",
     {{"consecutive_failures", outlier.consecutive_failures},
      {"interval_ms", ms(outlier.interval)},
      {"base_ejection_ms", ms(outlier.base_ejection)},
      {"max_ejection_ms", ms(outlier.max_ejection)},
      {"max_ejected_percent", outlier.max_ejected_percent}}},
    {"hedging", std::move(hedging_json)},
    {"hooks", hooks},
    {"rate_limit",
     {{"per_second", rate_limit.per_second}, {"burst", rate_limit.burst}}},
  };
}

policy_set::policy_set() {
  default_.name = "default";
}

policy_set::policy_set(std::vector<policy> policies)
  : list_(std::move(policies)) {
  default_.name = "default";
  for (const auto& p : list_) {
    if (p.name == "default") {
      default_ = p;
      break;
    }
  }
}

const policy& policy_set::match(std::string_view ns, std::string_view service,
                                std::string_view method) const {
  const policy* best = nullptr;
  uint32_t best_score = 0;
  for (const auto& p : list_) {
    // Strictly greater: on a full tie the first listed keeps its place.
    if (auto s = p.score(ns, service, method); s > best_score) {
      best = &p;
      best_score = s;
    }
  }
  return best != nullptr ? *best : default_;
}

const policy* policy_set::find(std::string_view name) const {
  for (const auto& p : list_)
    if (p.name == name)
      return &p;
  return name == default_.name ? &default_ : nullptr;
}

} // namespace mesh
