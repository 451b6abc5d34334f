#pragma once

// The fixture of the task_dispatcher suites: a dispatcher on CAF's
// deterministic scheduler with a jobs folder and a store in a temp dir,
// whose function jobs run the test's own function ("work") on a runner the
// test drives, and whose `mesh` jobs go to `router` when a test sets one.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/routing/request_router.hpp"
#include "actors/tasks/task_dispatcher.hpp"
#include "check.hpp"
#include "fixtures.hpp"
#include "temp_dir.hpp"

namespace mesh::test {

using nlohmann::json;
using namespace std::chrono_literals;

// A job run by the test's own function ("work"): each test decides when a
// delivery ends and how.
inline std::string job_file(const std::string& id, const json& extra) {
  json doc{{"id", id},
           {"runtime", "dispatcher"},
           {"target", "work"},
           {"inputs", {id + "-in"}},
           {"lease_ms", 1000},
           {"retry", {{"initial_ms", 100}, {"multiplier", 2.0},
                      {"max_ms", 1000}, {"jitter", 0.0}}}};
  doc.update(extra);
  return doc.dump();
}

struct task_fixture : actor_fixture {
  temp_dir dir;
  std::shared_ptr<manual_runner> runner = std::make_shared<manual_runner>();
  task_functions_ptr functions = std::make_shared<task_functions>();
  std::vector<task_call> calls;
  /// What the function does: answer (default: its payload) or throw.
  std::function<json(const task_call&, const json&)> work
    = [](const task_call&, const json& in) { return in; };
  /// Where `mesh` jobs are dispatched (set before start()).
  router_actor router;
  /// Decision records (set before start() to trace deliveries).
  trace_ring_ptr traces;
  /// Config's "runtimes" (set before start()).
  json runtimes = json::object();
  /// How long done tasks are kept (set before start()).
  std::chrono::seconds done_retention{std::chrono::hours{24}};
  /// limits.max_payload_bytes (set before start()).
  size_t max_payload_bytes = 4 * 1024 * 1024;
  caf::actor tasks;

  task_fixture() {
    std::filesystem::create_directories(dir.file("jobs"));
    functions->add_dispatcher("work", [this](const task_call& c, const json& in) {
      calls.push_back(c);
      return work(c, in);
    });
  }

  ~task_fixture() {
    stop({tasks, caf::actor_cast<caf::actor>(router)});
  }

  void add_job(const std::string& id, const json& extra = json::object()) {
    dir.write("jobs/" + id + ".json", job_file(id, extra));
  }

  void start() {
    task_dispatcher_config cfg;
    cfg.node_id = "n1";
    cfg.jobs_dir = dir.file("jobs");
    cfg.store_path = dir.file("tasks.db");
    cfg.sync = sync_mode::off;
    cfg.group_commit = 0ms;
    cfg.tick = 100ms;
    cfg.functions = functions;
    cfg.runner = runner;
    cfg.router = router;
    cfg.traces = traces;
    cfg.runtimes = runtimes;
    cfg.done_retention = done_retention;
    cfg.max_payload_bytes = max_payload_bytes;
    tasks = caf::actor_cast<caf::actor>(spawn_task_dispatcher(sys, cfg));
    run();
  }

  json emit(const std::string& dataset, int64_t cursor,
            const json& payload = nullptr) {
    json ev{{"dataset", dataset}, {"cursor", cursor}};
    if (!payload.is_null())
      ev["payload"] = payload;
    return ask<json>(tasks, atom::emit_v, ev);
  }

  json job(const std::string& id) {
    return ask<json>(tasks, atom::jobs_v, id);
  }

  /// Moves simulated time by `d` in tick-sized steps (timers fire in order).
  void wait(caf::timespan d) {
    for (auto left = d; left.count() > 0; left -= caf::timespan{10ms}) {
      sched.advance_time(10ms);
      run();
    }
  }

  /// Moves simulated time in 10 ms steps until `done` holds or `limit` has
  /// passed; returns whether it holds.
  bool wait_until(const std::function<bool()>& done, caf::timespan limit) {
    for (auto left = limit; left.count() > 0; left -= caf::timespan{10ms}) {
      if (done())
        return true;
      sched.advance_time(10ms);
      run();
    }
    return done();
  }

  /// Runs the deliveries waiting on the runner, then lets the answers in.
  size_t finish_all() {
    auto n = runner->run_all();
    run();
    return n;
  }
};

} // namespace mesh::test
