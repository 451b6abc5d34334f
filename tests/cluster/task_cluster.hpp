#pragma once

// Helpers of the durable-task cluster suites (cluster.tasks and
// cluster.tasks_failures): nodes serving the test task handlers
// (build/bin/libmesh_test_tasks.so, groups chosen by MESH_TEST_TASKS), job
// files, and the `meshctl jobs` / Sink Report views the tests await.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "temp_dir.hpp"
#include "unit/task_fixtures.hpp" // raw_sql

namespace mesh::test {

using clock_type = std::chrono::steady_clock;

inline int64_t ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - start)
    .count();
}

/// The plug-in of task handlers (tests/plugins/task_handlers.cpp).
inline std::string task_plugin() {
  return bin("libmesh_test_tasks.so");
}

/// A node serving the handler groups `groups` (MESH_TEST_TASKS).
inline std::unique_ptr<node_process>
start_node(const temp_dir& dir, const std::string& id,
           const std::string& groups, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id",       id,
                                "--plugin",   task_plugin(),
                                "--data-dir", dir.file("data-" + id),
                                "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<node_process>(args, 60s, true,
                                        std::vector<std::string>{
                                          "MESH_TEST_TASKS=" + groups});
}

/// Writes one job file per job into dir/jobs; returns the folder.
inline std::string write_jobs(const temp_dir& dir,
                              const std::vector<nlohmann::json>& jobs) {
  auto folder = dir.file("jobs");
  std::filesystem::create_directories(folder);
  for (const auto& j : jobs)
    dir.write("jobs/" + j["id"].get<std::string>() + ".json", j.dump(2));
  return folder;
}

inline nlohmann::json mesh_job(const std::string& id,
                               const std::string& target,
                               std::vector<std::string> inputs,
                               std::vector<std::string> outputs = {},
                               nlohmann::json extra = {}) {
  nlohmann::json j{{"id", id},
                   {"runtime", "mesh"},
                   {"target", target},
                   {"inputs", inputs},
                   {"outputs", outputs}};
  if (extra.is_object())
    j.update(extra);
  return j;
}

/// A node "u" (group stepa, job A on dataset "raw", paused) that was
/// stopped with three queued tasks, cursors 1-3, and restarted after the
/// row of cursor 2 was damaged (a payload that is not JSON), as a bad disk
/// or a hand edit would leave it. Its store is dir/data-u/tasks-u.db.
inline std::unique_ptr<node_process>
start_node_with_damaged_task(const temp_dir& dir) {
  auto jobs = write_jobs(dir, {mesh_job("A", "stepa/Step/Run", {"raw"})});
  {
    auto node = start_node(dir, "u", "stepa", {"--jobs", jobs});
    CAF_REQUIRE_EQUAL(meshctl(node->http(), {"job", "pause", "A"}).exit_code,
                      0);
    auto emitted = meshctl_json(node->http(), {"emit", "raw", "--cursor", "1",
                                               "--count", "3"});
    CAF_REQUIRE_EQUAL(emitted["result"].value("created", 0), 3);
  } // stopped (SIGTERM): three queued tasks in its file
  CAF_REQUIRE_EQUAL(raw_sql(dir.file("data-u/tasks-u.db"),
                            "UPDATE tasks SET payload = '{' WHERE cursor = 2"),
                    "");
  return start_node(dir, "u", "stepa", {"--jobs", jobs});
}

/// The node's jobs (what `meshctl jobs` shows) as {id: row}; null when the
/// node does not answer.
inline nlohmann::json jobs_of(const std::string& http) {
  auto doc = ask_node(http, {{"cmd", "jobs"}});
  if (!doc.is_object() || !doc.value("ok", false))
    return nullptr;
  nlohmann::json by_id = nlohmann::json::object();
  for (const auto& j : doc["result"]["jobs"])
    by_id[j["id"].get<std::string>()] = j;
  return by_id;
}

/// The Report of handler group `group` at `http`: {deliveries, unique,
/// duplicates, max_attempt}; null when there is no answer.
inline nlohmann::json report_of(const std::string& http,
                                const std::string& group) {
  auto r = meshctl(http, {"dispatch", group, "Sink", "Report"});
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded() || !doc.value("ok", false))
    return nullptr;
  if (doc.contains("result") && doc["result"].contains("payload"))
    return doc["result"]["payload"];
  return nullptr;
}

/// doc[key] as a count; 0 when missing (a view not there yet reads as 0).
inline uint64_t count(const nlohmann::json& doc, const std::string& key) {
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_number())
    return 0;
  return doc[key].get<uint64_t>();
}

/// Awaits `probe() >= target` while it keeps rising: fails when it stands
/// still for `stall` or `cap` passes. A long chain of work is judged on
/// progress, not on how fast a loaded machine runs it. Each probe is a real
/// round trip to a node, so this awaits a condition, not a sleep.
inline bool await_progress(const std::function<uint64_t()>& probe,
                           uint64_t target, std::chrono::milliseconds stall,
                           std::chrono::milliseconds cap) {
  uint64_t seen = 0;
  uint64_t last = 0;
  auto last_change = clock_type::now();
  await_condition(
    [&] {
      seen = probe();
      auto now = clock_type::now();
      if (seen > last) {
        last = seen;
        last_change = now;
      }
      return seen >= target || now - last_change > stall; // done or stuck
    },
    cap);
  return seen >= target;
}

/// A job row's open tasks: queued, leased and held.
inline uint64_t open_tasks(const nlohmann::json& row) {
  return count(row, "queued") + count(row, "leased") + count(row, "held");
}

/// The counters of a job row worth printing.
inline std::string brief(const nlohmann::json& row) {
  if (!row.is_object())
    return row.dump();
  nlohmann::json b = nlohmann::json::object();
  for (const char* k : {"queued", "held", "leased", "done", "dead", "created",
                        "skipped", "failures", "expired_leases", "paused_by",
                        "under_pressure", "backfill_held"})
    if (row.contains(k))
      b[k] = row[k];
  return b.dump();
}

inline bool contains_text(const nlohmann::json& list, const std::string& text) {
  if (!list.is_array())
    return false;
  for (const auto& x : list)
    if (x.is_string() && x.get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace mesh::test
