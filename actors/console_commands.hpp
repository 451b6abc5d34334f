#pragma once

// The console's command table. Each area of the node adds its commands in
// its own file (console_core.cpp, ...), so the console itself stays small.

#include <functional>
#include <map>
#include <string>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/console.hpp"
#include "protocol/status.hpp"

namespace mesh {

/// Delivers the reply of one command; call exactly once.
using console_reply = std::function<void(nlohmann::json)>;

using console_command
  = std::function<void(caf::event_based_actor* self, const console_config& env,
                       const nlohmann::json& args, console_reply reply)>;

using console_command_table = std::map<std::string, console_command>;

/// {"ok": true, "status": "ok", "result": result}.
nlohmann::json console_ok(nlohmann::json result);

/// {"ok": false, "status": NAME, "code": N, "error": message}.
nlohmann::json console_error(status_code code, std::string message);

/// The error reply for a failed request to one of the node's actors.
nlohmann::json console_error(const caf::error& err);

/// Reads a required string argument; nullopt (and sets `missing`) if absent.
const std::string* string_arg(const nlohmann::json& args, const char* name);

void add_core_commands(console_command_table& table);
void add_cluster_commands(console_command_table& table);
void add_strategy_commands(console_command_table& table);
void add_topic_commands(console_command_table& table);

} // namespace mesh
