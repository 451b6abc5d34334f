#pragma once

// The workflows of one node, loaded from a folder, as job_set does for
// jobs: a reload re-reads every file; a workflow whose file now fails keeps
// its last good version active (its error is kept for meshctl); a file that
// is gone removes its workflow. Two files declaring the same name: the
// second is an error. After every file is read, each `workflow:` step must
// name a workflow that is active, and sub-workflows must not call each
// other in a cycle (both errors name the file and the step's pointer, and
// the offending workflow is not active).

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "workflows/workflow.hpp"

namespace mesh {

class workflow_set {
public:
  /// Loads or reloads every *.json file of `dir` (empty: none). Returns
  /// {"loaded": [names], "failed": [{"file", "errors": [{"pointer",
  /// "message"}], "text"}], "removed": [names], "kept": [names whose last
  /// good version stays active]}. A folder that does not exist or cannot
  /// be read is one failure naming it (and every workflow is kept).
  nlohmann::json load(const std::string& dir);

  /// The active workflow `name`, or null.
  workflow_ptr find(const std::string& name) const;

  const std::map<std::string, workflow_ptr, std::less<>>& active() const {
    return active_;
  }

  /// Load errors by file (last load).
  const std::map<std::string, manifest_load_error>& errors() const {
    return errors_;
  }

  /// What `meshctl workflows` shows: {"dir", "workflows": [{"name", "file",
  /// "description", "mode", "on_failure", "steps": N, "status": "loaded" |
  /// "kept" (its file now fails, the last good version runs)}], "errors":
  /// [{"file", "errors", "text"}]}, sorted by name and file.
  nlohmann::json describe() const;

  const std::string& dir() const {
    return dir_;
  }

private:
  std::string dir_;
  std::map<std::string, workflow_ptr, std::less<>> active_;
  std::map<std::string, std::string> file_of_; ///< name -> file
  std::map<std::string, manifest_load_error> errors_;
};

} // namespace mesh
