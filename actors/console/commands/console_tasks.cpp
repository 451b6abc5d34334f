// Console commands about durable tasks: jobs, job (show, pause, resume),
// jobs_reload, tasks, emit, dead_letters, dead_letter_retry,
// dead_letter_purge.

#include "actors/console/commands/console_commands.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

constexpr const char* dispatcher = "task dispatcher (start it with --jobs DIR)";

// Replies `invalid_argument` and returns null when `name` is missing.
const std::string* required(const nlohmann::json& args, const char* name,
                            const char* cmd, const console_reply& reply) {
  auto* value = string_arg(args, name);
  if (value == nullptr)
    reply(console_error(status_code::invalid_argument,
                        std::string{cmd} + " needs \"" + name + "\""));
  return value;
}

void cmd_jobs(console_actor::pointer self, const console_config& env,
              const nlohmann::json&, console_reply reply) {
  ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
           atom::jobs_v);
}

void cmd_job(console_actor::pointer self, const console_config& env,
             const nlohmann::json& args, console_reply reply) {
  auto* id = required(args, "id", "job", reply);
  if (id == nullptr)
    return;
  auto action = args.value("action", std::string{"show"});
  if (action == "show")
    ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
             atom::jobs_v, *id);
  else if (action == "pause" || action == "resume")
    ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
             atom::pause_v, *id, action == "pause");
  else
    reply(console_error(status_code::invalid_argument,
                        "job: unknown action '" + action
                          + "' (show, pause, resume)"));
}

void cmd_jobs_reload(console_actor::pointer self, const console_config& env,
                     const nlohmann::json&, console_reply reply) {
  if (!require_actor(env.tasks.get(), dispatcher, env, reply))
    return;
  self->request(env.tasks.get(), console_ask_timeout, atom::reload_v)
    .then(
      [reply](nlohmann::json& report) {
        reply(reload_reply(std::move(report), "job"));
      },
      [reply](caf::error& err) { reply(console_error(err)); });
}

void cmd_tasks(console_actor::pointer self, const console_config& env,
               const nlohmann::json& args, console_reply reply) {
  auto* job = required(args, "job", "tasks", reply);
  if (job == nullptr)
    return;
  nlohmann::json q{{"job", *job}};
  if (auto* state = string_arg(args, "state"))
    q["state"] = *state;
  if (auto i = args.find("limit"); i != args.end()) {
    if (!i->is_number_integer()) {
      reply(console_error(status_code::invalid_argument,
                          "tasks: \"limit\" must be an integer"));
      return;
    }
    q["limit"] = *i;
  }
  ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
           atom::tasks_v, std::move(q));
}

void cmd_emit(console_actor::pointer self, const console_config& env,
              const nlohmann::json& args, console_reply reply) {
  auto event = args;
  event.erase("cmd");
  event.erase("token");
  ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
           atom::emit_v, std::move(event));
}

void cmd_dead_letters(console_actor::pointer self, const console_config& env,
                      const nlohmann::json& args, console_reply reply) {
  auto* job = string_arg(args, "job");
  ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
           atom::dead_v, job != nullptr ? *job : std::string{});
}

void cmd_dead_letter_retry(console_actor::pointer self,
                           const console_config& env,
                           const nlohmann::json& args, console_reply reply) {
  if (auto* id = required(args, "id", "dead_letter_retry", reply))
    ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
             atom::revive_v, *id);
}

void cmd_dead_letter_purge(console_actor::pointer self,
                           const console_config& env,
                           const nlohmann::json& args, console_reply reply) {
  if (auto* job = required(args, "job", "dead_letter_purge", reply))
    ask_json(self, env.tasks.get(), dispatcher, env, std::move(reply),
             atom::purge_v, *job);
}

} // namespace

void add_task_commands(console_command_table& table) {
  table["jobs"] = cmd_jobs;
  table["job"] = cmd_job;
  table["jobs_reload"] = cmd_jobs_reload;
  table["tasks"] = cmd_tasks;
  table["emit"] = cmd_emit;
  table["dead_letters"] = cmd_dead_letters;
  table["dead_letter_retry"] = cmd_dead_letter_retry;
  table["dead_letter_purge"] = cmd_dead_letter_purge;
}

} // namespace mesh
