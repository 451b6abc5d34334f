#pragma once

// Helpers shared by the durable-task unit suites: task records and sample
// store batches (tasks.store, tasks.store_crash), and a good job with a
// runtime table and a target check (tasks.jobs, tasks.job_set).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "tasks/jobs/job.hpp"
#include "tasks/store/task_store.hpp"

namespace mesh::test {

using nlohmann::json;

// ---- tasks and the store ----------------------------------------------------

// Every field of a task, so that a round trip is one comparison.
inline std::string describe(const task_record& t) {
  auto history = json::array();
  for (const auto& r : t.history)
    history.push_back({r.attempt, r.status, r.error, r.node, r.at_ms});
  return json{{"id", t.id},
              {"job", t.job},
              {"dataset", t.event.dataset},
              {"cursor", t.event.cursor},
              {"partition", t.event.partition},
              {"payload", t.event.payload},
              {"payload_is_null", t.event.payload.is_null()},
              {"state", to_string(t.state)},
              {"attempts", t.attempts},
              {"created_ms", t.created_ms},
              {"due_ms", t.due_ms},
              {"history", history}}
      .dump();
}

inline std::string describe(const std::vector<task_record>& ts) {
  std::string result;
  for (const auto& t : ts)
    result += describe(t) + "\n";
  return result;
}

// cursor_key has no ==, so maps of cursors are compared as text.
inline std::string describe(const std::map<cursor_key, int64_t>& cursors) {
  std::string result;
  for (const auto& [k, v] : cursors)
    result += k.job + "/" + k.dataset + "/" + k.partition + "="
              + std::to_string(v) + " ";
  return result;
}

inline task_record make_task(const std::string& job, int64_t cursor,
                             task_state state, int64_t created_ms,
                             json payload = nullptr,
                             std::string partition = "") {
  task_record t;
  t.job = job;
  t.event = {"images", cursor, std::move(partition), std::move(payload)};
  t.id = make_task_id(job, t.event);
  t.state = state;
  t.created_ms = created_ms;
  t.due_ms = created_ms + 10;
  return t;
}

// Runs `sql` on the file through a separate connection (tampering, checks).
inline std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    char* err = nullptr;
    auto keep = [](void* out, int, char** values, char**) {
      if (values[0] != nullptr)
        *static_cast<std::string*>(out) += values[0];
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), keep, &result, &err) != SQLITE_OK) {
      result = std::string{"error: "} + (err ? err : "?");
      sqlite3_free(err);
    }
  }
  sqlite3_close(db);
  return result;
}

// The sample data of the round-trip tests: every field set, a null
// payload, an empty partition, a history, a done task.
inline store_batch sample_batch() {
  store_batch b;
  auto dead = make_task("resize", 1, task_state::dead, 100,
                        json{{"file", "a.png"},
                             {"sizes", {16, 32, 9007199254740993}},
                             {"note", "caf\u00e9 \"quoted\""},
                             {"ok", true}},
                        "eu");
  dead.attempts = 3;
  dead.due_ms = 4242;
  dead.history = {{1, "handler_error", "boom", "node-a", 1001},
                  {2, "lease_expired", "", "", 1002},
                  {3, "handler_error", "line\nbreak \u00e9", "node-c", 1003}};
  b.tasks.push_back(dead);
  b.tasks.push_back(make_task("resize", 2, task_state::queued, 200));
  b.tasks.push_back(make_task("resize", 3, task_state::done, 300));
  auto leased = make_task("thumbs", 1, task_state::leased, 150, json::object());
  leased.attempts = 1;
  b.tasks.push_back(leased);
  b.tasks.push_back(make_task("thumbs", 2, task_state::held, 160, json(7)));
  b.cursors[{"resize", "images", ""}] = 3;
  b.cursors[{"resize", "images", "eu"}] = 1;
  b.cursors[{"thumbs", "images", ""}] = 2;
  b.paused["thumbs"] = true;
  return b;
}

// ---- jobs -------------------------------------------------------------------

inline json good_job() {
  return json::parse(R"({
    "id": "orders.enrich",
    "description": "Adds customer data to new orders",
    "runtime": "mesh",
    "target": "orders/Enricher/Enrich",
    "inputs": ["orders.raw"],
    "outputs": ["orders.enriched"]
  })");
}

inline runtime_table runtimes() {
  return make_runtime_table(
      json::parse(R"({"batch": {"kind": "process", "capabilities": ["gpu"],
                              "max_in_flight": 4, "lease_ms": 60000,
                              "max_attempts": 7}})"),
      {"mesh", "process", "dispatcher", "wasm"});
}

// Every target exists except those called "missing".
inline std::string check_target(const std::string& kind,
                                const std::string& target) {
  if (target.find("missing") != std::string::npos)
    return "no " + kind + " named " + target;
  return {};
}

// True if some problem is at `pointer` and mentions `text`.
inline bool has(const std::vector<manifest_problem>& ps,
                const std::string& pointer, const std::string& text) {
  for (const auto& p : ps)
    if (p.pointer == pointer && p.message.find(text) != std::string::npos)
      return true;
  std::string all;
  for (const auto& p : ps)
    all += " [" + p.pointer + ": " + p.message + "]";
  CAF_MESSAGE("problems:" << all);
  return false;
}

} // namespace mesh::test
