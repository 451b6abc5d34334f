#pragma once

// Internal to workflows/ (not installed, not included by other modules):
// what parsing a workflow (workflow.cpp) and checking its dependencies and
// references (workflow_checks.cpp) share.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/manifests/manifest.hpp" // manifest_load_error
#include "workflows/workflow.hpp"
#include "workflows/graph/workflow_refs.hpp"

namespace mesh::detail {

// Everything the rules need while checking one document.
struct checker {
  workflow_definition& w;
  manifest_load_error& err;
  std::vector<std::vector<bool>> anc; ///< empty when the graph has a cycle

  void add(std::string pointer, std::string message);

  // Step `self` (steps.size() for the output) uses `r` at `ptr`.
  void check_reference(const reference& r, const std::string& ptr, size_t self,
                       bool self_ok);

  void check_template(const nlohmann::json& templ, const std::string& ptr,
                      size_t self, bool self_ok);

  // `when` must be one reference and nothing else.
  void check_when(const std::string& when, const std::string& ptr, size_t self);
};

// Effective dependencies by mode; then a cycle, if any, as one problem
// (and no ancestors: references are then only checked for unknown steps).
void resolve_deps(checker& c);

} // namespace mesh::detail
