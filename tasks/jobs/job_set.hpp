#pragma once

// The jobs of one node, loaded from a folder, as manifest_set does for
// manifests: a reload re-reads every file; a job that now fails keeps its
// last good version active (its error is kept for meshctl); a file that is
// gone removes its job. Two files declaring the same job id: the second is
// an error.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tasks/jobs/job.hpp"

namespace mesh {

class job_set {
public:
  /// Loads or reloads every *.json file of `dir` (empty: none). Returns
  /// {"loaded": [ids], "failed": [{"file", "errors": [...]}], "removed":
  /// [ids], "kept": [ids whose last good version stays active]}. A folder
  /// that does not exist or cannot be read is one failure naming it.
  nlohmann::json load(const std::string& dir, const runtime_table& runtimes,
                      const target_check& check);

  /// The active job `id`, or null.
  job_ptr find(const std::string& id) const;

  const std::map<std::string, job_ptr, std::less<>>& active() const {
    return active_;
  }

  /// Load errors by file (last load).
  const std::map<std::string, manifest_load_error>& errors() const {
    return errors_;
  }

  const std::string& dir() const {
    return dir_;
  }

private:
  std::string dir_;
  std::map<std::string, job_ptr, std::less<>> active_;
  std::map<std::string, std::string> file_of_; ///< job id -> file
  std::map<std::string, manifest_load_error> errors_;
};

} // namespace mesh
