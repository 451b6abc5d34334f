#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace mesh {

/// Prints the result of a successful console reply for people (meshctl
/// without --json): tables and text, never raw JSON. `command` is the
/// console command name; one without its own layout prints as indented
/// "key: value" lines (print_fields).
void print_human(std::ostream& out, const std::string& command,
                 const nlohmann::json& result);

/// `value` as indented "key: value" lines (lists of objects as numbered
/// items): how a result without a layout of its own is shown.
void print_fields(std::ostream& out, const nlohmann::json& value,
                  int indent = 0);

/// The trace command's part of print_human (meshctl_trace.cpp).
bool print_trace_human(std::ostream& out, const std::string& command,
                       const nlohmann::json& result);

/// The task commands' part of print_human; false for another command.
bool print_task_human(std::ostream& out, const std::string& command,
                      const nlohmann::json& result);

/// The pipeline commands' part of print_human; false for another command.
bool print_pipeline_human(std::ostream& out, const std::string& command,
                          const nlohmann::json& result);

/// Prints the reply of a workflow command (meshctl_workflows.cpp), as JSON
/// or for people, and returns meshctl's exit code; nullopt for another
/// command or a failure printed the common way.
std::optional<int> print_workflow_reply(std::ostream& out,
                                        const nlohmann::json& command,
                                        const nlohmann::json& reply,
                                        bool as_json);

/// A JSON list as "a, b, c" (strings bare, anything else as JSON); `none`
/// when it is empty.
std::string list_text(const nlohmann::json& list, const std::string& none = "");

/// Prints a dispatch's explanation (meshctl dispatch --explain).
void print_explain(std::ostream& out, const nlohmann::json& explain);

/// Prints a failed reply (an envelope with ok false): "status: NAME",
/// what its "result" tells (handled_by, trace_id, ...), "error: TEXT".
void print_failure(std::ostream& out, const nlohmann::json& reply);

} // namespace mesh
