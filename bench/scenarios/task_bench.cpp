#include "bench/scenarios/task_bench.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>

#include "protocol/status.hpp"
#include "tasks/store/task_store.hpp"

namespace mesh::bench {

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The limit: the writes the dispatcher makes per task (insert, lease,
// done), committed in batches of 1000, on a fresh file.
double raw_sqlite_rate(const std::string& path, sync_mode sync, size_t n) {
  auto store = open_sqlite_task_store(path, sync);
  auto started = clock_type::now();
  constexpr size_t batch_size = 1000;
  for (size_t base = 0; base < n; base += batch_size) {
    std::vector<task_record> batch;
    for (size_t i = base; i < std::min(n, base + batch_size); ++i) {
      task_record t;
      t.event = {"bench", static_cast<int64_t>(i), "", json{{"t", 1}}};
      t.job = "bench";
      t.id = make_task_id(t.job, t.event);
      t.created_ms = t.due_ms = wall_us() / 1000;
      batch.push_back(std::move(t));
    }
    for (auto state : {task_state::queued, task_state::leased, task_state::done}) {
      store_batch b;
      for (auto& t : batch) {
        t.state = state;
        t.attempts = state == task_state::queued ? 0 : 1;
        b.tasks.push_back(t);
      }
      store->commit(b);
    }
  }
  return static_cast<double>(n) / seconds_since(started);
}

caf::expected<json> call(console_client& c, const json& cmd) {
  auto r = c.call(cmd, std::chrono::seconds{30});
  if (!r)
    return r.error();
  if (!r->value("ok", false))
    return make_error(status_code::internal, "node: " + r->dump());
  // Admin commands answer {"result": ...}; dispatch answers flat.
  return r->contains("result") ? (*r)["result"] : *r;
}

json report_of(console_client& c, bool reset) {
  auto r = call(c, {{"cmd", "dispatch"}, {"namespace", "bench"},
                    {"service", "Task"}, {"method", "Report"},
                    {"payload", {{"reset", reset}}}});
  return r && r->is_object() ? r->value("payload", json{}) : json{};
}

uint64_t done_of(console_client& c) {
  auto r = call(c, {{"cmd", "jobs"}});
  if (!r)
    return 0;
  for (const auto& j : r->value("jobs", json::array()))
    if (j.value("id", "") == "bench")
      return j.value("done", uint64_t{0});
  return 0;
}

// One queue node with `sync`, its tasks run on B; throughput and latency.
json measure(bench_env& env, const std::string& dir, const std::string& sync,
             const std::string& seed, size_t n) {
  std::filesystem::create_directories(dir + "/jobs");
  std::ofstream{dir + "/jobs/bench.json"}
    << json{{"id", "bench"}, {"runtime", "mesh"}, {"target", "bench/Task/Run"},
            {"inputs", {"bench"}}, {"max_in_flight", 256}}.dump();
  json ready;
  // It serves no handler of "bench" but must share the namespace with B
  // for the router to send there.
  auto node = env.start_node({"--id", "bench-tasks-" + sync, "--namespaces",
                              "bench", "--jobs",
                              dir + "/jobs", "--data-dir", dir + "/data",
                              "--tasks-sync", sync, "--seeds", seed},
                             ready);
  if (!node)
    return {{"error", error_text(node.error())}};
  auto client = console_client::connect(
    ready["console"].get<std::string>(),
    [&env](caf::actor_system_config& cfg) { env.configure(cfg); });
  if (!client)
    return {{"error", error_text(client.error())}};
  auto& c = **client;
  // Until the queue node routes to B (the handler is B's only).
  auto deadline = clock_type::now() + std::chrono::seconds{10};
  while (report_of(c, true).is_null() && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  // Throughput: bulk emits of 1000 events, until every task is done.
  auto started = clock_type::now();
  for (size_t base = 0; base < n; base += 1000) {
    auto events = json::array();
    for (size_t i = base; i < std::min(n, base + 1000); ++i)
      events.push_back({{"dataset", "bench"}, {"cursor", i},
                        {"payload", {{"t", wall_us()}}}});
    if (auto r = call(c, {{"cmd", "emit"}, {"events", std::move(events)}}); !r)
      return {{"error", error_text(r.error())}};
  }
  while (done_of(c) < n && seconds_since(started) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  auto elapsed = seconds_since(started);
  auto done = done_of(c);
  // Latency at low load: one event at a time, ~200 per second.
  report_of(c, true);
  for (size_t i = 0; i < 200; ++i) {
    call(c, {{"cmd", "emit"}, {"dataset", "bench"}, {"cursor", n + i},
             {"payload", {{"t", wall_us()}}}});
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  while (done_of(c) < n + 200 && seconds_since(started) < 150)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  auto lat = report_of(c, false);
  return {{"sync", sync},
          {"tasks", done},
          {"seconds", elapsed},
          {"tasks_per_s", static_cast<double>(done) / elapsed},
          {"emit_to_start", lat}};
}

} // namespace

json run_task_bench(bench_env& env, size_t n) {
  char tmpl[] = "/tmp/meshbench-tasks-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return {{"error", "cannot create a temp folder"}};
  std::string dir = tmpl;
  json ready_b;
  auto b = env.start_node({"--id", "bench-tasks-b", "--plugin",
                           env.opts.bin_dir + "/libmesh_bench_plugin.so"},
                          ready_b);
  if (!b)
    return {{"error", error_text(b.error())}};
  auto seed = ready_b["listen"].get<std::string>();
  json out{{"tasks", n}, {"runs", json::array()}};
  std::cout << "\ndurable tasks: emit -> task -> handler on another node -> "
               "done, "
            << n << " tasks\n"
            << "sync      tasks/s  start_p50_us  start_p90_us  start_p99_us | "
               "raw SQLite tasks/s | Mesh / raw\n";
  for (const std::string sync : {"full", "normal"}) {
    auto m = measure(env, dir + "/" + sync, sync, seed, n);
    if (m.contains("error")) {
      std::cout << sync << ": " << m["error"].get<std::string>() << "\n";
      out["runs"].push_back(m);
      continue;
    }
    double raw = 0;
    try {
      raw = raw_sqlite_rate(dir + "/raw-" + sync + ".db",
                            sync == "full" ? sync_mode::full : sync_mode::normal,
                            n);
    } catch (const std::exception& e) {
      m["raw_error"] = e.what();
    }
    m["raw_sqlite_tasks_per_s"] = raw;
    auto lat = m["emit_to_start"].is_object() ? m["emit_to_start"] : json::object();
    std::cout << std::left << std::setw(8) << sync << std::right
              << std::setw(10) << std::fixed << std::setprecision(0)
              << m["tasks_per_s"].get<double>() << std::setw(14)
              << lat.value("p50_us", 0) << std::setw(14)
              << lat.value("p90_us", 0) << std::setw(14)
              << lat.value("p99_us", 0) << " | " << std::setw(18) << raw
              << " | " << std::setprecision(3)
              << (raw > 0 ? m["tasks_per_s"].get<double>() / raw : 0.0) << "\n";
    out["runs"].push_back(std::move(m));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

} // namespace mesh::bench
