#include "workflows/workflow_builder.hpp"

#include <stdexcept>
#include <utility>
#include <variant>

#include "workflows/workflow.hpp"

namespace mesh {

using nlohmann::json; // not inside workflow_step: its json() hides it

workflow_step::workflow_step(std::string id) : doc_{{"id", std::move(id)}} {}

// Each kind sets its own key: a step given two kinds keeps both, and
// build() then says so, as it would for a file.
workflow_step& workflow_step::call(std::string path) {
  doc_["call"] = std::move(path);
  return *this;
}

workflow_step& workflow_step::process(std::string name) {
  doc_["process"] = std::move(name);
  return *this;
}

workflow_step& workflow_step::publish(std::string topic) {
  doc_["publish"] = std::move(topic);
  return *this;
}

workflow_step& workflow_step::emit(std::string dataset) {
  doc_["emit"] = std::move(dataset);
  return *this;
}

workflow_step& workflow_step::workflow(std::string name) {
  doc_["workflow"] = std::move(name);
  return *this;
}

workflow_step& workflow_step::params(nlohmann::json params) {
  doc_["params"] = std::move(params);
  return *this;
}

workflow_step& workflow_step::depends_on(std::vector<std::string> ids) {
  doc_["depends_on"] = std::move(ids);
  return *this;
}

workflow_step& workflow_step::when(std::string reference) {
  doc_["when"] = std::move(reference);
  return *this;
}

workflow_step& workflow_step::timeout_ms(int64_t ms) {
  doc_["timeout_ms"] = ms;
  return *this;
}

workflow_step& workflow_step::retry(uint32_t max_attempts, int64_t backoff_ms) {
  doc_["retry"] = {{"max_attempts", max_attempts}, {"backoff_ms", backoff_ms}};
  return *this;
}

workflow_step& workflow_step::compensate(std::string path,
                                         nlohmann::json params) {
  nlohmann::json c{{"call", std::move(path)}};
  // {} is the default: left out, the document is the one a person writes.
  if (params != nlohmann::json::object())
    c["params"] = std::move(params);
  doc_["compensate"] = std::move(c);
  return *this;
}

workflow_builder::workflow_builder(std::string name)
    : doc_{{"name", std::move(name)}, {"steps", json::array()}} {}

workflow_builder& workflow_builder::describe(std::string text) {
  doc_["description"] = std::move(text);
  return *this;
}

workflow_builder& workflow_builder::add_step(workflow_step step) {
  doc_["steps"].push_back(step.json());
  return *this;
}

workflow_builder& workflow_builder::add_step(std::string id, std::string call,
                                             json params,
                                             std::vector<std::string> deps) {
  workflow_step step{std::move(id)};
  step.call(std::move(call));
  if (params != json::object())
    step.params(std::move(params));
  if (!deps.empty())
    step.depends_on(std::move(deps));
  return add_step(std::move(step));
}

workflow_builder& workflow_builder::with_mode(std::string mode) {
  doc_["mode"] = std::move(mode); // build() checks it
  return *this;
}

workflow_builder& workflow_builder::with_error_handling(std::string mode) {
  if (mode == "stop" || mode == "stop_on_failure")
    doc_["on_failure"] = "stop";
  else if (mode == "continue" || mode == "continue_on_failure")
    doc_["on_failure"] = "continue";
  else
    throw std::invalid_argument("unknown error handling '" + mode
                                + "' (stop, continue, stop_on_failure, "
                                  "continue_on_failure)");
  return *this;
}

workflow_builder& workflow_builder::with_timeout(int64_t ms) {
  doc_["timeout_ms"] = ms;
  return *this;
}

workflow_builder& workflow_builder::with_input_schema(json schema) {
  doc_["input_schema"] = std::move(schema);
  return *this;
}

workflow_builder& workflow_builder::with_output(json templ) {
  doc_["output"] = std::move(templ);
  return *this;
}

json workflow_builder::build() const {
  auto result = parse_workflow(doc_, "");
  if (auto* err = std::get_if<manifest_load_error>(&result)) {
    std::string text;
    for (const auto& p : err->problems)
      text += (text.empty() ? "" : "\n")
              + (p.pointer.empty() ? std::string{"/"} : p.pointer) + ": "
              + p.message;
    throw std::invalid_argument(text);
  }
  return doc_;
}

} // namespace mesh
