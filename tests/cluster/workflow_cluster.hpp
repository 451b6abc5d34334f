#pragma once

// Helpers of the workflow cluster suites (cluster.workflows and
// cluster.workflows_crash): nodes serving the test handlers of namespace
// "wf" (build/bin/libmesh_test_workflows.so, tests/plugins/
// workflow_handlers.cpp; each node serves the methods MESH_TEST_WF names),
// workflow files, the call log every handler appends to (MESH_TEST_WF_LOG),
// and the `meshctl run show` / `runs` views the tests await.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mesh::test {

using clock_type = std::chrono::steady_clock;

inline int64_t wf_ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - start)
    .count();
}

/// The plug-in of wf/* handlers.
inline std::string wf_plugin() {
  return bin("libmesh_test_workflows.so");
}

/// The source tree's folder of broken workflow files (and one good one).
inline std::string wf_defects_dir() {
  return std::string{MESH_SOURCE_DIR} + "/tests/data/workflows_defects";
}

/// Writes each workflow to dir/workflows/NAME.json; returns the folder.
inline std::string write_workflows(const temp_dir& dir,
                                   const std::vector<nlohmann::json>& docs) {
  auto folder = dir.file("workflows");
  std::filesystem::create_directories(folder);
  for (const auto& d : docs)
    dir.write("workflows/" + d["name"].get<std::string>() + ".json",
              d.dump(2));
  return folder;
}

/// How one test node starts: its id, the methods it serves (MESH_TEST_WF,
/// "" for all), and extra flags (--workflows, --seeds, ...).
struct wf_node_spec {
  std::string id;
  std::string serves;
  std::vector<std::string> extra;
};

/// The call log shared by every node of a test.
inline std::string wf_log_path(const temp_dir& dir) {
  return dir.file("calls.log");
}

/// Starts a node: its data dir is dir/data-ID, the same for a restart.
inline std::unique_ptr<node_process> start_wf_node(const temp_dir& dir,
                                                   const wf_node_spec& spec) {
  std::vector<std::string> args{"--id",
                                spec.id,
                                "--plugin",
                                wf_plugin(),
                                "--data-dir",
                                dir.file("data-" + spec.id),
                                "--heartbeat-interval-ms",
                                "100",
                                "--heartbeat-misses",
                                "5"};
  args.insert(args.end(), spec.extra.begin(), spec.extra.end());
  return std::make_unique<node_process>(
    args, 60s, true,
    std::vector<std::string>{"MESH_TEST_WF=" + spec.serves,
                             "MESH_TEST_WF_LOG=" + wf_log_path(dir)});
}

/// The lines of the call log, in call order (a line cut short by a kill is
/// skipped).
inline std::vector<nlohmann::json> call_log(const temp_dir& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in{wf_log_path(dir)};
  for (std::string line; std::getline(in, line);) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (!doc.is_discarded())
      out.push_back(std::move(doc));
  }
  return out;
}

/// Calls of `method` ("Service/Method") in the log; only those of trace
/// `trace` unless it is empty.
inline size_t calls_of(const std::vector<nlohmann::json>& log,
                       const std::string& method,
                       const std::string& trace = "") {
  size_t n = 0;
  for (const auto& line : log)
    if (line.value("method", "") == method
        && (trace.empty() || line.value("trace", "") == trace))
      ++n;
  return n;
}

/// The methods called for trace `trace`, in order.
inline std::vector<std::string> methods_of(const std::vector<nlohmann::json>& log,
                                           const std::string& trace) {
  std::vector<std::string> out;
  for (const auto& line : log)
    if (line.value("trace", "") == trace)
      out.push_back(line.value("method", ""));
  return out;
}

inline std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : " ") + x;
  return out;
}

/// The run `id` (what `meshctl run show ID` shows) as JSON; null when there
/// is no answer.
inline nlohmann::json run_of(const std::string& http,
                             const std::string& id) {
  auto doc = ask_node(http, {{"cmd", "run"}, {"id", id}, {"action", "show"}});
  if (!doc.is_object() || !doc.value("ok", false) || !doc.contains("result"))
    return nullptr;
  return doc["result"];
}

/// The step `id` of a run's JSON; null when it has none.
inline nlohmann::json step_of(const nlohmann::json& run,
                              const std::string& id) {
  if (!run.is_object() || !run.contains("steps"))
    return nullptr;
  for (const auto& s : run["steps"])
    if (s.value("id", "") == id)
      return s;
  return nullptr;
}

/// doc[key] when it is an object, else an empty object: a test that fails
/// reports a check, not an exception.
inline nlohmann::json object_at(const nlohmann::json& doc,
                                const std::string& key) {
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_object())
    return nlohmann::json::object();
  return doc[key];
}

/// The output of step `id` (an empty object when it has none).
inline nlohmann::json output_of(const nlohmann::json& run,
                                const std::string& id) {
  auto s = step_of(run, id);
  if (!s.is_object() || !s.contains("output") || !s["output"].is_object())
    return nlohmann::json::object();
  return s["output"];
}

/// The compensation of step `id` (an empty object when it has none).
inline nlohmann::json compensation_of(const nlohmann::json& run,
                                      const std::string& id) {
  auto s = step_of(run, id);
  if (!s.is_object() || !s.contains("compensation")
      || !s["compensation"].is_object())
    return nlohmann::json::object();
  return s["compensation"];
}

/// The status of step `id` ("" when unknown).
inline std::string step_status_of(const nlohmann::json& run,
                                  const std::string& id) {
  auto s = step_of(run, id);
  return s.is_object() ? s.value("status", "") : "";
}

/// "id=status ..." of every step, for messages.
inline std::string step_summary(const nlohmann::json& run) {
  if (!run.is_object() || !run.contains("steps"))
    return run.dump();
  std::string out = run.value("status", "?") + ":";
  for (const auto& s : run["steps"])
    out += " " + s.value("id", "?") + "=" + s.value("status", "?") + "@"
           + s.value("node", "-");
  return out;
}

/// Starts a run with --async; returns {"run_id", "trace_id", ...}.
inline nlohmann::json start_async(const std::string& http,
                                  const std::string& workflow,
                                  const nlohmann::json& input) {
  auto doc = meshctl_json(http, {"workflow", "run", workflow, "--input",
                                    input.dump(), "--async"});
  CAF_REQUIRE(doc.value("ok", false));
  auto r = doc["result"];
  if (!r.is_object() || !r.contains("run_id") || !r["run_id"].is_string())
    CAF_FAIL("no run_id in " << doc.dump());
  return r;
}

/// Waits until run `id` has ended; returns it (null when it did not end
/// within `timeout`).
inline nlohmann::json await_end(const std::string& http,
                                const std::string& id,
                                std::chrono::milliseconds timeout = 30s) {
  nlohmann::json last;
  bool ended = await_condition(
    [&] {
      last = run_of(http, id);
      return last.is_object() && last.value("status", "running") != "running";
    },
    timeout);
  if (!ended) {
    CAF_MESSAGE("run " << id << " did not end: " << step_summary(last));
    return nullptr;
  }
  return last;
}

/// `meshctl runs` (with `args`, e.g. --workflow X) as a list of summaries;
/// null when the node does not answer.
inline nlohmann::json runs_of(const std::string& http,
                              std::vector<std::string> args = {}) {
  args.insert(args.begin(), "runs");
  auto r = meshctl(http, args);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded() || !doc.value("ok", false))
    return nullptr;
  if (!doc.contains("result") || !doc["result"].is_object())
    return nullptr;
  return doc["result"].value("runs", nlohmann::json::array());
}

/// True when `runs` (a list of summaries) holds run `id`.
inline bool lists_run(const nlohmann::json& runs, const std::string& id) {
  if (!runs.is_array())
    return false;
  for (const auto& r : runs)
    if (r.value("id", "") == id)
      return true;
  return false;
}

} // namespace mesh::test
