#pragma once

// The console's command table. Each area of the node adds its commands in
// its own file (console_core.cpp, ...), so the console itself stays small.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/console/console.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/status.hpp"

namespace mesh {

/// Delivers the reply of one command; call exactly once.
using console_reply = std::function<void(nlohmann::json)>;

using console_command
  = std::function<void(console_actor::pointer self, const console_config& env,
                       const nlohmann::json& args, console_reply reply)>;

using console_command_table = std::map<std::string, console_command>;

/// {"ok": true, "status": "ok", "code": 0, "result": result}: the one
/// envelope of every console reply (and of the HTTP API, which passes it
/// on).
nlohmann::json console_ok(nlohmann::json result);

/// {"ok": false, "status": NAME, "code": N, "error": message}; a failure
/// may add "result" (what is known despite it, e.g. a reload's report).
nlohmann::json console_error(status_code code, std::string message);

/// The error reply for a failed request to one of the node's actors.
nlohmann::json console_error(const caf::error& err);

/// How long a console command waits for one of the node's actors.
inline constexpr auto console_ask_timeout = std::chrono::seconds{5};

/// True if `actor` exists; else replies `unavailable` ("node X has no
/// `what`") and returns false.
template <class Handle>
bool require_actor(const Handle& actor, const char* what,
                   const console_config& env, const console_reply& reply) {
  if (actor)
    return true;
  reply(console_error(status_code::unavailable,
                      "node " + env.node_id + " has no " + what));
  return false;
}

/// Sends `xs` to `dest` (if it exists) and replies with the JSON it answers.
template <class Handle, class... Ts>
void ask_json(console_actor::pointer self, const Handle& dest,
              const char* what, const console_config& env,
              console_reply reply, Ts&&... xs) {
  if (!require_actor(dest, what, env, reply))
    return;
  self->request(dest, console_ask_timeout, std::forward<Ts>(xs)...)
    .then([reply](nlohmann::json& r) { reply(console_ok(std::move(r))); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

/// Sends `xs` to `dest` (if it exists); on its ok_atom replies `result`.
template <class Handle, class... Ts>
void ask_ok(console_actor::pointer self, const Handle& dest,
            const char* what, const console_config& env, console_reply reply,
            nlohmann::json result, Ts&&... xs) {
  if (!require_actor(dest, what, env, reply))
    return;
  self->request(dest, console_ask_timeout, std::forward<Ts>(xs)...)
    .then([reply, result](caf::ok_atom) { reply(console_ok(result)); },
          [reply](caf::error& err) { reply(console_error(err)); });
}

/// A request's answer as a console reply, in the one envelope: ok,
/// {"ok": true, "status": "ok", "code": 0, "result": {"handled_by",
/// "trace_id", "payload"}}; else {"ok": false, "status", "code", "error",
/// "result": {"handled_by", "trace_id"}} (who answered, and the trace to
/// look up, matter most when a request failed). Callers add keys to
/// "result" (explain, the strategy's choice).
template <class Response>
nlohmann::json describe_response(const Response& r, const std::string& by) {
  auto code = status_code_from_int(r.status().code())
                .value_or(status_code::internal);
  nlohmann::json about{{"handled_by", by}, {"trace_id", r.trace_id()}};
  if (code != status_code::ok) {
    auto out = console_error(code, r.status().message());
    out["result"] = std::move(about);
    return out;
  }
  about["payload"] = any_to_display_json(r.payload());
  return console_ok(std::move(about));
}

/// The reply to a folder reload's report ({"failed": [...], ...}): ok when
/// nothing failed, else invalid_argument "N `what` file(s) failed to load"
/// with the report as "result" (meshctl then exits non-zero).
nlohmann::json reload_reply(nlohmann::json report, const char* what);

/// Reads a required string argument; nullopt (and sets `missing`) if absent.
const std::string* string_arg(const nlohmann::json& args, const char* name);

/// Reads the `deadline_ms` argument into `out` (untouched when absent);
/// false, after replying invalid_argument, unless it is an integer from 0 to
/// 2^32-1 (a larger one must not wrap to a few milliseconds).
bool read_deadline_ms(const nlohmann::json& args, uint32_t& out,
                      const console_reply& reply);

void add_core_commands(console_command_table& table);
void add_cluster_commands(console_command_table& table);
void add_strategy_commands(console_command_table& table);
void add_topic_commands(console_command_table& table);
void add_task_commands(console_command_table& table);
void add_pipeline_commands(console_command_table& table);
void add_workflow_commands(console_command_table& table);
void add_trace_commands(console_command_table& table);

/// Reads a dispatch's directives (skip_hooks, timeout_ms, max_attempts,
/// hedge "on"/"off"/"policy", dry_run, explain); false (and replies
/// invalid_argument) when one is malformed.
bool fill_directives(const nlohmann::json& args, pb::DispatchRequest& req,
                     const console_reply& reply);

/// The pipeline's explanation of a reply, as JSON.
nlohmann::json explain_json(const pb::Explanation& e);

} // namespace mesh
