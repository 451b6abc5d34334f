// Fuzz target: a workflow file (one file of the workflows folder). Parsed
// as load_workflow does (the same depth limit) but without its catch-all,
// so that an exception escaping parse_workflow is a finding rather than a
// load error. A definition that checks is then run through what a run does
// with it: references resolved against an empty scope, the DAG order, the
// input checked against its schema.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/json/json_payload.hpp" // max_json_depth
#include "protocol/json/safe_json.hpp"
#include "workflows/workflow.hpp"
#include "workflows/graph/workflow_dag.hpp"
#include "workflows/graph/workflow_refs.hpp"
#include "workflows/runs/workflow_run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto doc = mesh::parse_json(text, mesh::max_json_depth());
  if (!doc)
    return 0;
  auto result = mesh::parse_workflow(*doc, "fuzz.json");
  if (auto* err = std::get_if<mesh::manifest_load_error>(&result)) {
    (void) err->to_string(); // what meshctl and the log show
    return 0;
  }
  const auto& def = *std::get<mesh::workflow_ptr>(result);
  mesh::dependency_lists deps;
  for (const auto& s : def.steps)
    deps.push_back(s.deps);
  (void) mesh::topological_order(deps);
  auto run = mesh::make_run(def, "r", "t", *doc, nlohmann::json::object(), 0);
  (void) mesh::check_input(def, *doc);
  auto scope = mesh::reference_scope(def, run);
  for (const auto& s : def.steps) {
    try {
      (void) mesh::resolve_references(s.params, scope);
      if (!s.when.empty())
        (void) mesh::evaluate_condition(s.when, scope);
    } catch (const mesh::reference_error&) {
      // a step that fails at run time, with its reason
    }
  }
  (void) mesh::ready_steps(def, run, 8);
  (void) mesh::run_from_json(mesh::to_json(run));
  for (uint32_t n = 2; n < 40; ++n)
    for (const auto& s : def.steps)
      (void) s.retry.delay(n);
  return 0;
}
