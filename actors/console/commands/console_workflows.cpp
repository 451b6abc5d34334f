// Console commands about workflows (seed 003), answered by the workflow
// runner:
//   workflows                        every definition and its load status
//   workflow {name, action?: show}   one definition in full
//   workflows_reload                 re-reads the folder; failures: not ok
//   workflow_run {name | definition, input?, context?, trace_id?, async?,
//                 wait_ms?}          the finished run (waits wait_ms, 1 ..
//                                    86400000, default 300000), or with
//                                    async at once {run_id, trace_id, status}
//   runs {workflow?, status?, limit? (1 .. 10000)}   {"runs": [summary]}
//   run {id, action?: show | cancel, wait_ms?}       one run; cancel answers
//                                    once the run has ended
// Arguments are checked here before the runner sees them: a wrong type, a
// missing name or id, an unknown action or a number out of range is
// `invalid_argument` naming the field.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "actors/console/commands/console_commands.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

using nlohmann::json;

constexpr const char* runner
  = "workflow runner (start it with --workflows DIR)";

constexpr int64_t default_wait_ms = run_wait::default_ms;
constexpr int64_t max_wait_ms = run_wait::max_ms;
constexpr int64_t wait_margin_ms = run_wait::console_margin_ms;

constexpr int64_t max_runs_limit = 10000;

/// Like ask_json, for what may take as long as a run (a run, a cancellation
/// and its compensations): waits `wait_ms` plus a margin; on timeout replies
/// deadline_exceeded "WHAT within N ms (wait_ms); LATER".
template <class... Ts>
void ask_long(console_actor::pointer self, const console_config& env,
              console_reply reply, int64_t wait_ms, std::string what,
              std::string later, Ts&&... xs) {
  if (!require_actor(env.workflows.get(), runner, env, reply))
    return;
  auto timeout = std::chrono::milliseconds{wait_ms + wait_margin_ms};
  self->request(env.workflows.get(), timeout, std::forward<Ts>(xs)...)
    .then([reply](json& r) { reply(console_ok(std::move(r))); },
          [reply, wait_ms, what, later](caf::error& err) {
            if (err != caf::sec::request_timeout) {
              reply(console_error(err));
              return;
            }
            reply(console_error(status_code::deadline_exceeded,
                                what + " within " + std::to_string(wait_ms)
                                  + " ms (wait_ms); " + later));
          });
}

bool reject(const console_reply& reply, const std::string& text) {
  reply(console_error(status_code::invalid_argument, text));
  return false;
}

/// Reads the string argument `key` into `out` (untouched when absent).
/// False, after replying invalid_argument naming it, when it is not a
/// string, or empty, or absent while `required`.
bool read_string(const json& args, const char* key, const char* cmd,
                 bool required, std::optional<std::string>& out,
                 const console_reply& reply) {
  auto i = args.find(key);
  if (i == args.end()) {
    if (required)
      return reject(reply, std::string{cmd} + " needs \"" + key + "\"");
    return true;
  }
  if (!i->is_string() || i->get_ref<const std::string&>().empty())
    return reject(reply, std::string{cmd} + ": \"" + key
                           + "\" must be a non-empty string");
  out = i->get<std::string>();
  return true;
}

/// Reads the integer argument `key` (in [lo, hi]) into `out`.
bool read_int(const json& args, const char* key, const char* cmd, int64_t lo,
              int64_t hi, std::optional<int64_t>& out,
              const console_reply& reply) {
  auto i = args.find(key);
  if (i == args.end())
    return true;
  auto bad = [&] {
    return reject(reply, std::string{cmd} + ": \"" + key
                           + "\" must be an integer from "
                           + std::to_string(lo) + " to " + std::to_string(hi));
  };
  if (i->is_number_unsigned()) {
    if (i->get<uint64_t>() > static_cast<uint64_t>(hi))
      return bad();
  } else if (!i->is_number_integer()) {
    return bad();
  }
  auto value = i->get<int64_t>();
  if (value < lo || value > hi)
    return bad();
  out = value;
  return true;
}

/// Reads the action (default "show") and checks it is one of `allowed`.
bool read_action(const json& args, const char* cmd,
                 std::initializer_list<const char*> allowed,
                 std::string& action, const console_reply& reply) {
  std::optional<std::string> given;
  if (!read_string(args, "action", cmd, false, given, reply))
    return false;
  action = given.value_or("show");
  std::string names;
  for (const char* x : allowed) {
    if (action == x)
      return true;
    names += (names.empty() ? "" : ", ") + std::string{x};
  }
  return reject(reply, std::string{cmd} + ": unknown \"action\" '" + action
                         + "' (" + names + ")");
}

void cmd_workflows(console_actor::pointer self, const console_config& env,
                   const json&, console_reply reply) {
  ask_json(self, env.workflows.get(), runner, env, std::move(reply),
           atom::workflows_v);
}

void cmd_workflow(console_actor::pointer self, const console_config& env,
                  const json& args, console_reply reply) {
  std::optional<std::string> name;
  std::string action;
  if (!read_string(args, "name", "workflow", true, name, reply)
      || !read_action(args, "workflow", {"show"}, action, reply))
    return;
  ask_json(self, env.workflows.get(), runner, env, std::move(reply),
           atom::workflows_v, std::move(*name));
}

void cmd_workflows_reload(console_actor::pointer self,
                          const console_config& env, const json&,
                          console_reply reply) {
  if (!require_actor(env.workflows.get(), runner, env, reply))
    return;
  self->request(env.workflows.get(), console_ask_timeout, atom::reload_v)
    .then(
      [reply](json& report) {
        reply(reload_reply(std::move(report), "workflow"));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_workflow_run(console_actor::pointer self, const console_config& env,
                      const json& args, console_reply reply) {
  constexpr const char* cmd = "workflow_run";
  std::optional<std::string> name;
  std::optional<std::string> trace;
  std::optional<int64_t> wait;
  if (!read_string(args, "name", cmd, false, name, reply)
      || !read_string(args, "trace_id", cmd, false, trace, reply)
      || !read_int(args, "wait_ms", cmd, 1, max_wait_ms, wait, reply))
    return;
  json request = json::object();
  auto def = args.find("definition");
  if (name && def != args.end()) {
    reject(reply, "workflow_run: give \"name\" or \"definition\", not both");
    return;
  }
  if (name) {
    request["workflow"] = *name;
  } else if (def == args.end()) {
    reject(reply, "workflow_run needs \"name\" (a workflow) or \"definition\" "
                  "(a workflow document)");
    return;
  } else if (!def->is_object()) {
    reject(reply, "workflow_run: \"definition\" must be a JSON object");
    return;
  } else {
    request["definition"] = *def;
  }
  if (auto i = args.find("input"); i != args.end())
    request["input"] = *i; // the runner checks it against the input_schema
  if (auto i = args.find("context"); i != args.end()) {
    if (!i->is_object()) {
      reject(reply, "workflow_run: \"context\" must be a JSON object");
      return;
    }
    request["context"] = *i;
  }
  bool async = false;
  if (auto i = args.find("async"); i != args.end()) {
    if (!i->is_boolean()) {
      reject(reply, "workflow_run: \"async\" must be true or false");
      return;
    }
    async = i->get<bool>();
  }
  request["async"] = async;
  // A person at a terminal gets a trace id made up here, so that a run we
  // stop waiting for can still be found.
  auto trace_id = trace ? *trace : make_trace_id();
  request["trace_id"] = trace_id;
  if (async) { // the runner answers at once
    ask_json(self, env.workflows.get(), runner, env, std::move(reply),
             atom::run_v, std::move(request));
    return;
  }
  // The whole run is awaited, far longer than the console's usual 5 s.
  auto later = "the run goes on: trace id " + trace_id + " (meshctl runs)";
  auto what = (name ? "workflow '" + *name + "'" : std::string{"the workflow"})
              + " did not finish";
  ask_long(self, env, std::move(reply), wait.value_or(default_wait_ms), what,
           later, atom::run_v, std::move(request));
}

void cmd_runs(console_actor::pointer self, const console_config& env,
              const json& args, console_reply reply) {
  std::optional<std::string> workflow;
  std::optional<std::string> status;
  std::optional<int64_t> limit;
  if (!read_string(args, "workflow", "runs", false, workflow, reply)
      || !read_string(args, "status", "runs", false, status, reply)
      || !read_int(args, "limit", "runs", 1, max_runs_limit, limit, reply))
    return;
  json query = json::object();
  if (workflow)
    query["workflow"] = *workflow;
  if (status)
    query["status"] = *status;
  if (limit)
    query["limit"] = *limit;
  ask_json(self, env.workflows.get(), runner, env, std::move(reply),
           atom::runs_v, std::move(query));
}

void cmd_run(console_actor::pointer self, const console_config& env,
             const json& args, console_reply reply) {
  std::optional<std::string> id;
  std::optional<int64_t> wait;
  std::string action;
  if (!read_string(args, "id", "run", true, id, reply)
      || !read_action(args, "run", {"show", "cancel"}, action, reply)
      || !read_int(args, "wait_ms", "run", 1, max_wait_ms, wait, reply))
    return;
  if (action == "show") {
    ask_json(self, env.workflows.get(), runner, env, std::move(reply),
             atom::runs_v, std::move(*id));
    return;
  }
  // The runner answers once the run has ended: its running steps awaited
  // and its compensations done.
  auto what = "run " + *id + " did not end";
  auto later = "it is still being cancelled (meshctl run show " + *id + ")";
  ask_long(self, env, std::move(reply), wait.value_or(default_wait_ms), what,
           later, atom::cancel_v, std::move(*id));
}

} // namespace

void add_workflow_commands(console_command_table& table) {
  table["workflows"] = cmd_workflows;
  table["workflow"] = cmd_workflow;
  table["workflows_reload"] = cmd_workflows_reload;
  table["workflow_run"] = cmd_workflow_run;
  table["runs"] = cmd_runs;
  table["run"] = cmd_run;
}

} // namespace mesh
