#pragma once

// meshctl's parsed command line, shared by the files that add its
// subcommands (meshctl_main.cpp, meshctl_format_tasks.cpp, ...), and its
// exit codes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace mesh::meshctl {

/// meshctl's exit codes (documented in --help and the README).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failed = 1;          ///< the node answered: not ok
inline constexpr int usage = 2;           ///< bad command line
inline constexpr int unreachable = 3;     ///< no node (HTTP) at --node
inline constexpr int unauthenticated = 4; ///< the token was refused
inline constexpr int timeout = 5;         ///< no answer within --timeout-ms
} // namespace exit_code

/// The node's HTTP address when neither --node nor MESH_NODE names one.
inline constexpr const char* default_node = "127.0.0.1:7422";

struct options {
  std::string node = default_node;
  bool json = false;
  std::string output; // -o json|table ("json" sets json)
  std::string token;
  int64_t timeout_ms = 10000;
  bool timeout_given = false; // --timeout-ms on the command line
  nlohmann::json command = nlohmann::json::object();
  std::string error; // set by subcommand callbacks on bad input
  // arguments of the subcommands (only one runs)
  std::string ns, service, method, target, trace, payload_text, action;
  std::string context_text, args_text, outcome, category, message_type;
  std::string partition, state;
  int64_t deadline_ms = -1;
  int64_t cursor = 0;
  int64_t limit = -1;
  std::vector<std::string> allow;
  // dispatch directives
  bool explain = false, dry_run = false;
  std::string hedge;
  int max_attempts = 0;
  std::vector<std::string> skip_hooks;
  int64_t request_timeout_ms = 0;
};

/// The text of a JSON flag: as given, or "@FILE" for a file's contents, or
/// "-" for standard input (a command line caps one argument at 128 KiB;
/// payloads may be up to the node's limit, 4 MiB by default).
std::optional<std::string> flag_text(options& o, const char* flag,
                                     const std::string& text);

/// Parses a JSON flag into command[key]; bad JSON becomes o.error, saying
/// where. The node checks the depth limit; this bound only keeps meshctl
/// safe.
void set_json(options& o, const char* flag, const std::string& text,
              const char* key);

/// jobs, job, tasks, emit, dead-letters, dead-letter.
void add_task_commands(CLI::App& app, options& o);

/// policies, hooks, breakers (meshctl_pipeline.cpp).
void add_pipeline_commands(CLI::App& app, options& o);

/// workflows, workflow, runs, run (meshctl_workflows.cpp).
void add_workflow_commands(CLI::App& app, options& o);

/// Adds --node, --token, --json, -o/--output and --timeout-ms to `app` and
/// to every subcommand below it, so they work before or after the command
/// and every --help lists them (with the environment variables and
/// examples); call once every command is added.
void add_global_flags(CLI::App& app, options& o);

/// When the first command word of `argv` names no command of `app`: the
/// message "unknown command 'X'" with the closest command suggested.
std::optional<std::string> unknown_command(const CLI::App& app, int argc,
                                           char** argv);

/// A bash completion script for `app`: its commands (and theirs) and their
/// flags (`meshctl completion bash`).
std::string bash_completion(const CLI::App& app);

/// trace ID: every node's decision records of one trace (meshctl_trace.cpp).
void add_trace_command(CLI::App& app, options& o);

/// dispatch's --explain, --dry-run, --hedge, --max-attempts, --skip-hooks,
/// --request-timeout-ms; set_directives puts them in the command.
void add_directive_flags(CLI::App& sub, options& o);
void set_directives(const options& o, nlohmann::json& command);

} // namespace mesh::meshctl
