#pragma once

// Workflows in code (seed 003's WorkflowBuilder): a fluent builder whose
// build() returns the same JSON document a workflow file holds, checked by
// the same rules.
//
//   auto doc = workflow_builder{"casefile_setup"}
//                .add_step(workflow_step{"create"}.call("cases/Case/Create")
//                            .params({{"title", "${input.title}"}}))
//                .add_step(workflow_step{"session"}.call("cases/Session/Open")
//                            .params({{"case", "${steps.create.output.id}"}})
//                            .depends_on({"create"}))
//                .with_mode("dag")
//                .with_error_handling("stop_on_failure")
//                .build();  // throws std::invalid_argument listing problems

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mesh {

class workflow_step {
public:
  explicit workflow_step(std::string id);

  workflow_step& call(std::string path);   ///< ns/Service/Method
  workflow_step& process(std::string name);
  workflow_step& publish(std::string topic);
  workflow_step& emit(std::string dataset);
  workflow_step& workflow(std::string name);
  workflow_step& params(nlohmann::json params);
  workflow_step& depends_on(std::vector<std::string> ids);
  workflow_step& when(std::string reference);
  workflow_step& timeout_ms(int64_t ms);
  workflow_step& retry(uint32_t max_attempts, int64_t backoff_ms = 100);
  workflow_step& compensate(std::string path,
                            nlohmann::json params = nlohmann::json::object());

  const nlohmann::json& json() const { return doc_; }

private:
  nlohmann::json doc_;
};

class workflow_builder {
public:
  explicit workflow_builder(std::string name);

  workflow_builder& describe(std::string text);
  workflow_builder& add_step(workflow_step step);
  /// Seed 003's shape: add_step(id, call path, params, depends_on).
  workflow_builder& add_step(std::string id, std::string call,
                             nlohmann::json params = nlohmann::json::object(),
                             std::vector<std::string> depends_on = {});
  workflow_builder& with_mode(std::string mode); ///< sequential|parallel|dag
  /// "stop" | "continue" (also seed 003's "stop_on_failure",
  /// "continue_on_failure").
  workflow_builder& with_error_handling(std::string mode);
  workflow_builder& with_timeout(int64_t ms);
  workflow_builder& with_input_schema(nlohmann::json schema);
  workflow_builder& with_output(nlohmann::json templ);

  /// The document; throws std::invalid_argument with every problem
  /// ("/steps/1/depends_on/0: unknown step 'x'") when it does not check.
  nlohmann::json build() const;

private:
  nlohmann::json doc_;
};

} // namespace mesh
