#include "actors/processes/evidence_store.hpp"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace mesh {

evidence_store::evidence_store(std::string node_id,
                               const std::string& data_dir, bool durable)
  : node_(std::move(node_id)), durable_(durable) {
  // One file per node id: nodes sharing a folder never write each other's.
  if (data_dir.empty())
    return;
  std::string safe = node_;
  for (auto& c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_'
        && c != '.')
      c = '_';
  file_ = data_dir + "/" + safe + ".bandit-evidence.json";
}

void evidence_store::record(const std::string& node,
                            const std::string& process,
                            const std::string& variant, bool success) {
  evidence_.record(node, process, variant, success);
  cache_.erase(process);
  dirty_ = true;
}

bool evidence_store::merge(const pb::BanditEvidence& msg) {
  bool grew = false;
  for (const auto& n : msg.nodes())
    for (const auto& p : n.processes())
      for (const auto& v : p.variants())
        if (evidence_.merge(n.node_id(), p.process_name(), v.variant_id(),
                            {v.successes(), v.failures()})) {
          grew = true;
          dirty_ = true;
          cache_.erase(p.process_name());
        }
  return grew;
}

const std::vector<outcome_counts>& evidence_store::totals(const manifest& m) {
  auto& entry = cache_[m.name];
  if (entry.source != &m || entry.totals.size() != m.variants.size()) {
    entry.source = &m;
    entry.totals.clear();
    for (const auto& v : m.variants)
      entry.totals.push_back(evidence_.total(m.name, v.id));
  }
  return entry.totals;
}

pb::BanditEvidence evidence_store::to_proto() const {
  pb::BanditEvidence msg;
  for (const auto& [node, processes] : evidence_.nodes()) {
    auto* n = msg.add_nodes();
    n->set_node_id(node);
    for (const auto& [process, variants] : processes) {
      auto* p = n->add_processes();
      p->set_process_name(process);
      for (const auto& [variant, c] : variants) {
        auto* v = p->add_variants();
        v->set_variant_id(variant);
        v->set_successes(c.successes);
        v->set_failures(c.failures);
      }
    }
  }
  return msg;
}

std::string evidence_store::load() {
  if (file_.empty())
    return {};
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec))
    return {};
  std::ifstream in{file_};
  auto doc = nlohmann::json::parse(in, nullptr, false);
  bandit_evidence loaded;
  if (doc.is_discarded() || !doc.is_object()
      || !loaded.from_json(doc.value("evidence", nlohmann::json())))
    return file_ + " is not a valid evidence file";
  evidence_.merge(loaded);
  cache_.clear();
  return {};
}

std::string evidence_store::close() {
  if (durable_ || file_.empty())
    return save();
  std::error_code ec;
  std::filesystem::remove(file_, ec);
  if (ec)
    return "cannot remove " + file_ + ": " + ec.message();
  if (created_dir_) // ours, and empty now: leave the folder as it was
    std::filesystem::remove(std::filesystem::path{file_}.parent_path(), ec);
  return {};
}

std::string evidence_store::save() {
  if (file_.empty() || !dirty_)
    return {};
  std::error_code ec;
  if (std::filesystem::create_directories(
        std::filesystem::path{file_}.parent_path(), ec))
    created_dir_ = true;
  if (ec)
    return "cannot create " + std::filesystem::path{file_}.parent_path().string()
           + ": " + ec.message();
  auto tmp = file_ + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << nlohmann::json{{"node", node_}, {"evidence", evidence_.to_json()}}
             .dump(1)
        << "\n";
    if (!out)
      return "cannot write " + tmp;
  }
  if (std::rename(tmp.c_str(), file_.c_str()) != 0)
    return "cannot replace " + file_;
  dirty_ = false;
  return {};
}

} // namespace mesh
