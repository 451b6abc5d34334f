#include "strategies/bandit_evidence.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace mesh {

void bandit_evidence::record(const std::string& node,
                             const std::string& process,
                             const std::string& variant, bool success) {
  auto& c = nodes_[node][process][variant];
  ++(success ? c.successes : c.failures);
}

bool bandit_evidence::merge(const std::string& node,
                            const std::string& process,
                            const std::string& variant,
                            const outcome_counts& counts) {
  auto& c = nodes_[node][process][variant];
  bool grew = counts.successes > c.successes || counts.failures > c.failures;
  c.successes = std::max(c.successes, counts.successes);
  c.failures = std::max(c.failures, counts.failures);
  return grew;
}

bool bandit_evidence::merge(const bandit_evidence& other) {
  bool grew = false;
  for (const auto& [node, processes] : other.nodes_)
    for (const auto& [process, variants] : processes)
      for (const auto& [variant, counts] : variants)
        grew = merge(node, process, variant, counts) || grew;
  return grew;
}

outcome_counts bandit_evidence::total(const std::string& process,
                                      const std::string& variant) const {
  outcome_counts sum;
  for (const auto& [node, processes] : nodes_) {
    auto p = processes.find(process);
    if (p == processes.end())
      continue;
    auto v = p->second.find(variant);
    if (v == p->second.end())
      continue;
    sum.successes += v->second.successes;
    sum.failures += v->second.failures;
  }
  return sum;
}

nlohmann::json bandit_evidence::to_json() const {
  auto doc = nlohmann::json::object();
  for (const auto& [node, processes] : nodes_)
    for (const auto& [process, variants] : processes)
      for (const auto& [variant, c] : variants)
        doc[node][process][variant] = {c.successes, c.failures};
  return doc;
}

bool bandit_evidence::from_json(const nlohmann::json& doc) {
  node_map parsed;
  try {
    for (const auto& [node, processes] : doc.items())
      for (const auto& [process, variants] : processes.items())
        for (const auto& [variant, c] : variants.items())
          parsed[node][process][variant] = {c.at(0).get<uint64_t>(),
                                            c.at(1).get<uint64_t>()};
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  nodes_ = std::move(parsed);
  return true;
}

} // namespace mesh
