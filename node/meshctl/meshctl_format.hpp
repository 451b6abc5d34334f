#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace mesh {

/// Prints a successful console reply for people (meshctl without --json).
/// `command` is the console command name; unknown ones print as JSON.
void print_human(std::ostream& out, const std::string& command,
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

/// Prints a dispatch's explanation (meshctl dispatch --explain).
void print_explain(std::ostream& out, const nlohmann::json& explain);

/// Prints a failed reply: "status: NAME\nerror: TEXT".
void print_failure(std::ostream& out, const nlohmann::json& reply);

} // namespace mesh
