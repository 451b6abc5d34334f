#pragma once

// The manifests of one node, loaded from a folder. A reload re-reads every
// file: a manifest that now fails keeps its last good version active (and
// its error is kept for meshctl); a file that is gone unloads its process.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/manifests/manifest.hpp"

namespace mesh {

class manifest_set {
public:
  /// Loads or reloads every *.json file of `dir` (empty: none). Returns a
  /// report: {"loaded": [names], "failed": [{file, errors}], "removed": [...],
  /// "kept": [names whose last good version stays active]}.
  nlohmann::json load(const std::string& dir);

  /// The active manifest of `process`, or null.
  manifest_ptr find(const std::string& process) const;

  /// Every process with its strategy, variants and load status.
  nlohmann::json list() const;

  /// One process in full (the document, the load status), or null if
  /// neither a manifest nor an error is known by that name.
  nlohmann::json show(const std::string& process) const;

  const std::map<std::string, manifest_ptr, std::less<>>& active() const {
    return active_;
  }

  const std::string& dir() const {
    return dir_;
  }

private:
  std::string dir_;
  std::map<std::string, manifest_ptr, std::less<>> active_;
  std::map<std::string, manifest_load_error> errors_; ///< by process name
};

} // namespace mesh
