// meshctl's JSON flags and its task commands (jobs, job, tasks, emit,
// dead-letters, dead-letter).

#include <fstream>
#include <iostream>
#include <iterator>

#include "node/meshctl/meshctl_options.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"

namespace mesh::meshctl {

std::optional<std::string> flag_text(options& o, const char* flag,
                                     const std::string& text) {
  if (text == "-") {
    return std::string{std::istreambuf_iterator<char>{std::cin}, {}};
  }
  if (!text.empty() && text.front() == '@') {
    std::ifstream in{text.substr(1), std::ios::binary};
    if (!in) {
      o.error = std::string{flag} + ": cannot read file '" + text.substr(1)
                + "'";
      return std::nullopt;
    }
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  }
  return text;
}

void set_json(options& o, const char* flag, const std::string& text,
              const char* key) {
  if (text.empty())
    return;
  auto source = flag_text(o, flag, text);
  if (!source)
    return;
  auto doc = mesh::parse_json(*source, 1024);
  if (!doc)
    o.error = std::string{flag} + " is not valid JSON: "
              + mesh::error_text(doc.error());
  else
    o.command[key] = std::move(*doc);
}


void add_task_commands(CLI::App& app, options& o) {
  auto* jobs = app.add_subcommand(
    "jobs", "jobs with their queues (durable tasks); 'reload' re-reads the "
            "jobs folder (as SIGHUP)");
  jobs->add_option("action", o.action, "list or reload")
    ->check(CLI::IsMember({"list", "reload"}));
  jobs->callback([&o] {
    o.command = {{"cmd", o.action == "reload" ? "jobs_reload" : "jobs"}};
  });

  auto* job = app.add_subcommand("job", "one job: show, pause or resume");
  job->add_option("action", o.action, "show, pause or resume")
    ->required()
    ->check(CLI::IsMember({"show", "pause", "resume"}));
  job->add_option("id", o.target, "job id")->required();
  job->callback([&o] {
    o.command = {{"cmd", "job"}, {"id", o.target}, {"action", o.action}};
  });

  auto* tasks = app.add_subcommand("tasks", "the tasks of a job, oldest first");
  tasks->add_option("job", o.target, "job id")->required();
  tasks->add_option("--state", o.state, "held, queued, leased, done or dead")
    ->check(CLI::IsMember({"held", "queued", "leased", "done", "dead"}));
  tasks->add_option("--limit", o.limit, "at most this many (default 100)")
    ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  tasks->callback([&o] {
    o.command = {{"cmd", "tasks"}, {"job", o.target}};
    if (!o.state.empty())
      o.command["state"] = o.state;
    if (o.limit > 0)
      o.command["limit"] = o.limit;
  });

  auto* emit = app.add_subcommand(
    "emit", "emit an event: one task per job whose inputs name the dataset, "
            "committed before the answer");
  emit->add_option("dataset", o.target, "dataset name")->required();
  emit->add_option("--cursor", o.cursor, "position in the dataset")->required();
  emit->add_option("--partition", o.partition, "partition key");
  emit->add_option("--payload", o.payload_text,
                   "JSON payload; @FILE reads a file, - standard input");
  emit->add_option("--count", o.limit,
                   "emit this many events, cursors N, N+1, ... (one commit)")
    ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  emit->callback([&o] {
    nlohmann::json ev{{"dataset", o.target}, {"cursor", o.cursor}};
    if (!o.partition.empty())
      ev["partition"] = o.partition;
    o.command = ev;
    set_json(o, "--payload", o.payload_text, "payload");
    if (o.command.contains("payload"))
      ev["payload"] = o.command["payload"];
    if (o.limit > 1) {
      auto events = nlohmann::json::array();
      for (int64_t i = 0; i < o.limit; ++i) {
        events.push_back(ev);
        events.back()["cursor"] = o.cursor + i;
      }
      o.command = {{"events", std::move(events)}};
    }
    o.command["cmd"] = "emit";
  });

  auto* dead = app.add_subcommand(
    "dead-letters", "tasks that used up their attempts, with every error");
  dead->add_option("job", o.target, "only this job");
  dead->callback([&o] {
    o.command = {{"cmd", "dead_letters"}};
    if (!o.target.empty())
      o.command["job"] = o.target;
  });

  auto* letter = app.add_subcommand(
    "dead-letter", "'retry TASK' queues a dead letter again; 'purge JOB' "
                   "drops a job's dead letters");
  letter->add_option("action", o.action, "retry or purge")
    ->required()
    ->check(CLI::IsMember({"retry", "purge"}));
  letter->add_option("id", o.target, "task id (retry) or job id (purge)")
    ->required();
  letter->callback([&o] {
    if (o.action == "retry")
      o.command = {{"cmd", "dead_letter_retry"}, {"id", o.target}};
    else
      o.command = {{"cmd", "dead_letter_purge"}, {"job", o.target}};
  });
}

} // namespace mesh::meshctl
