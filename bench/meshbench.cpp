// meshbench: measures Mesh against the bare CAF beneath it, in one run.
//
// Starts two real meshnode processes (A and B), runs every scenario with
// each in-flight count (closed loop, warm-up excluded, fixed duration), runs
// the matching bare-CAF baseline with the same settings and payload, and
// prints a table plus JSON (--json FILE). --pin runs every process on CPU 0,
// where figures repeat within a few percent on a 2-vCPU VM; --pin-apart
// gives the serving and the calling side a CPU each (bench_env.hpp), as two
// machines would have. The same run
// measures raw TCP ping-pong (bench/baselines/tcp_echo.cpp) at each
// in-flight count, and every figure is also given as a ratio to it; a full
// run also measures ZeroMQ, Erlang/OTP and gRPC and gives remote dispatch a
// ratio to each (bench/baselines/peers.hpp); `scale` starts a cluster of
// --scale-nodes nodes (bench/scenarios/scale_bench.cpp).

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "bench/baselines/echo_baseline.hpp"
#include "bench/baselines/peers.hpp"
#include "bench/figures.hpp"
#include "bench/scenarios/scale_bench.hpp"
#include "bench/scenarios/scenarios.hpp"
#include "bench/scenarios/task_bench.hpp"
#include "bench/scenarios/workflow_bench.hpp"
#include "config/node_config.hpp"
#include "protocol/status.hpp"

namespace {

using nlohmann::json;
using mesh::bench::bench_env;
using mesh::bench::bench_options;
using mesh::bench::cpu_seconds;
using mesh::bench::fmt;
using mesh::bench::median_run;
using mesh::bench::pairwise;
using mesh::bench::ratios;

std::string executable_dir() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  std::string path(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return path.substr(0, path.rfind('/'));
}


json machine() {
  std::ifstream cpuinfo{"/proc/cpuinfo"};
  std::string line, model = "unknown";
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  utsname u{};
  ::uname(&u);
  return {{"cpu", model},
          {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"kernel", std::string{u.release}}};
}

// `tcp`: the raw TCP figures at the same depth (null when not measured).
void print_row(const std::string& scenario, size_t n, const json& mesh,
               const json& base, const json& tcp) {
  auto rps = mesh.value("requests_per_s", 0.0);
  auto base_rps = base.value("requests_per_s", 0.0);
  auto p50 = mesh.value("p50_us", 0.0);
  auto base_p50 = base.value("p50_us", 0.0);
  std::cout << std::left << std::setw(16) << scenario << std::right
            << std::setw(5) << n << std::setw(11) << fmt(rps, 0)
            << std::setw(9) << fmt(p50) << std::setw(9)
            << fmt(mesh.value("p90_us", 0.0)) << std::setw(9)
            << fmt(mesh.value("p99_us", 0.0)) << std::setw(10)
            << fmt(mesh.value("max_us", 0.0)) << " |" << std::setw(11)
            << fmt(base_rps, 0) << std::setw(9) << fmt(base_p50) << " |"
            << std::setw(8) << fmt(base_rps > 0 ? rps / base_rps : 0, 2)
            << std::setw(8) << fmt(base_p50 > 0 ? p50 / base_p50 : 0, 2);
  if (tcp.is_object()) {
    auto r = ratios(mesh, tcp);
    std::cout << " |" << std::setw(8) << fmt(r["requests_per_s"], 3)
              << std::setw(8) << fmt(r["p50"], 2);
  }
  std::cout << "\n";
}

} // namespace

int main(int argc, char** argv) {
  bench_options o;
  o.bin_dir = executable_dir();
  int64_t warmup_ms = o.warmup.count(), duration_ms = o.duration.count(),
          idle_ms = o.idle.count();
  CLI::App app{"meshbench: Mesh against bare CAF, in the same run"};
  auto* pin = app.add_flag("--pin", o.pin,
                           "run every process on CPU 0 (taskset -c 0)");
  app.add_flag("--pin-apart", o.apart,
               "the serving side (node B, the peers' servers) on CPU 0, the "
               "calling side (node A, the clients) on CPU 1")
    ->excludes(pin);
  app.add_option("--in-flight", o.in_flight, "closed-loop depths")
    ->delimiter(',')
    ->capture_default_str();
  app.add_option("--warmup-ms", warmup_ms)->capture_default_str();
  app.add_option("--duration-ms", duration_ms)->capture_default_str();
  app.add_option("--idle-ms", idle_ms, "idle CPU measurement (0: skip)")
    ->capture_default_str();
  app.add_option("--payload-bytes", o.payload_bytes)->capture_default_str();
  app.add_option("--repeat", o.repeat,
                 "runs of each measurement, alternating Mesh and baseline; "
                 "the median run is reported")
    ->capture_default_str()
    ->check(CLI::Range(size_t{1}, size_t{20}));
  app.add_option("--scenarios", o.scenarios,
                 "subset, e.g. local,remote; tasks: the durable-task scenario; "
                 "workflows: the workflow scenario; raw_tcp: TCP ping-pong "
                 "alone (it runs with every table); zeromq, erlang, grpc: "
                 "those peers, each run beside Mesh's remote dispatch (they "
                 "run in a full run); scale: a cluster of --scale-nodes "
                 "nodes")
    ->delimiter(',');
  app.add_option("--policy", o.policy, "CAF scheduler policy")
    ->capture_default_str();
  app.add_option("--threads", o.threads, "CAF scheduler threads")
    ->capture_default_str();
  app.add_option("--middleman-workers", o.middleman_workers)
    ->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms)->capture_default_str();
  app.add_option("--data-plane", o.data_plane,
                 "requests between nodes on data links (false: BASP only)")
    ->capture_default_str();
  app.add_option("--serve-chunk", o.serve_chunk,
                 "cluster.serve_chunk of the nodes (0: batches served whole)")
    ->capture_default_str()
    ->check(CLI::Range(0u, 256u));
  app.add_option("--serve-chunk-adaptive", o.serve_chunk_adaptive,
                 "cluster.serve_chunk_adaptive of the nodes (false: chunks "
                 "whatever CPU the caller sends from)")
    ->capture_default_str();
  for (auto [name, field, key] :
       {std::tuple{"--plane-spin-us", &o.plane_spin_us, "cluster.data_plane"},
        std::tuple{"--worker-spin-us", &o.worker_spin_us, "scheduler.worker"}})
    app.add_option(name, *field, std::string{key} + "_spin_us of the nodes")
      ->capture_default_str()->check(CLI::Range(0u, 10000u));
  app.add_option("--json", o.json_path, "write the results as JSON here");
  size_t task_count = 20000;
  app.add_option("--tasks", task_count, "tasks of the durable-task scenario")
    ->capture_default_str()
    ->check(CLI::Range(size_t{1000}, size_t{1000000}));
  size_t workflow_runs = 2000;
  app.add_option("--workflow-runs", workflow_runs,
                 "async runs of the workflow scenario's 3-step workflow")
    ->capture_default_str()
    ->check(CLI::Range(size_t{100}, size_t{1000000}));
  size_t scale_nodes = 16;
  app.add_option("--scale-nodes", scale_nodes, "nodes of the scale scenario")
    ->capture_default_str()
    ->check(CLI::Range(size_t{2}, size_t{64}));
  int64_t scale_idle_ms = 10000;
  app.add_option("--scale-idle-ms", scale_idle_ms,
                 "each of the scale scenario's two idle windows (the second "
                 "is the idle cluster)")
    ->capture_default_str()
    ->check(CLI::Range(int64_t{100}, int64_t{600000}));
  CLI11_PARSE(app, argc, argv);
  // A misspelt name would measure nothing and say nothing.
  auto known = mesh::bench::peer_names();
  known.insert(known.end(), {"raw_tcp", "tasks", "workflows", "scale"});
  for (const auto& s : mesh::bench::scenarios())
    known.push_back(s.name);
  for (const auto& name : o.scenarios)
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string all;
      for (const auto& k : known)
        all += (all.empty() ? "" : ", ") + k;
      std::cerr << "meshbench: no scenario named '" << name << "' (there are "
                << all << ")\n";
      return 2;
    }
  if (auto why = mesh::bench::unavailable_peers(o); !why.empty()) {
    std::cerr << "meshbench: cannot measure " << why << "\n";
    return 1;
  }
  auto selected = [&o](const std::string& name) {
    return o.scenarios.empty()
           || std::find(o.scenarios.begin(), o.scenarios.end(), name)
                != o.scenarios.end();
  };
  // Nodes A and B serve every scenario but raw_tcp and scale (and their
  // idle CPU is measured only when they run).
  bool table = false;
  for (const auto& s : mesh::bench::scenarios())
    table = table || selected(s.name);
  bool peers = false;
  for (const auto& name : mesh::bench::peer_names())
    peers = peers || selected(name);
  bool pair = table || peers || selected("tasks") || selected("workflows");
  if (o.threads == 0) // what meshnode's default picks for the same mask
    o.threads = o.pin || o.apart ? 1 : mesh::usable_cpus();
  o.warmup = std::chrono::milliseconds{warmup_ms};
  o.duration = std::chrono::milliseconds{duration_ms};
  o.idle = std::chrono::milliseconds{idle_ms};
  if (o.pin || o.apart) {
    // A child cannot be pinned to a CPU outside our mask (its
    // sched_setaffinity fails, and it would run unpinned, unsaid).
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    ::sched_getaffinity(0, sizeof(allowed), &allowed);
    if (!CPU_ISSET(0, &allowed) || (o.apart && !CPU_ISSET(1, &allowed))) {
      std::cerr << "meshbench: " << (o.apart ? "--pin-apart" : "--pin")
                << " needs CPU 0" << (o.apart ? " and CPU 1" : "")
                << ", which this process may not use\n";
      return 2;
    }
    // meshbench is the calling side's (the client scenario's caller).
    cpu_set_t mine;
    CPU_ZERO(&mine);
    CPU_SET(mesh::bench::calling_cpu(o), &mine);
    ::sched_setaffinity(0, sizeof(mine), &mine);
  }
  bench_env env{o};
  if (auto err = pair ? env.start_nodes() : caf::error{}) {
    std::cerr << "meshbench: " << mesh::error_text(err) << "\n";
    return 1;
  }
  json report{{"machine", machine()},
              {"settings",
               {{"pinned", o.pin},
                {"pinned_apart", o.apart},
                {"serve_chunk", o.serve_chunk},
                {"serve_chunk_adaptive", o.serve_chunk_adaptive},
                {"plane_spin_us", o.plane_spin_us},
                {"worker_spin_us", o.worker_spin_us},
                {"policy", o.policy},
                {"threads", o.threads},
                {"middleman_workers", o.middleman_workers},
                {"heartbeat_ms", o.heartbeat_ms},
                {"payload_bytes", o.payload_bytes},
                {"repeat", o.repeat},
                {"warmup_ms", warmup_ms},
                {"duration_ms", duration_ms}}},
              {"results", json::array()}};
  std::map<size_t, json> tcp; // raw TCP's median run at each depth
  int failures = 0;
  // ZeroMQ, Erlang, gRPC and raw TCP beneath them, each run beside one of
  // Mesh's remote dispatch: in a full run or when named (bench/baselines/).
  if (peers) {
    // A plain caller and a declared one (bench/scenarios/scenarios.cpp).
    std::vector<mesh::bench::mesh_run> beside;
    for (const auto& s : mesh::bench::scenarios())
      if (s.name == "remote" || s.name == "remote_nonblocking")
        beside.push_back(
          {s.name, [&env, &s](size_t n) { return s.mesh(env, n); }});
    if (beside.size() != 2 || beside.front().name != "remote") {
      std::cerr << "meshbench: no remote scenarios to pair the peers with\n";
      return 1;
    }
    report["peers"] = mesh::bench::run_peers(o, beside, failures);
    for (const auto& p : report["peers"])
      if (p["peer"] == "raw_tcp")
        tcp[p["in_flight"].get<size_t>()] = p["result"];
  }
  // Raw TCP at every depth (the peers' runs when they measured it), before
  // the scenarios that are read against it.
  if (table || selected("raw_tcp") || !tcp.empty()) {
    report["raw_tcp"] = json::array();
    for (auto n : o.in_flight) {
      std::vector<json> runs;
      for (size_t r = 0; r < o.repeat && tcp.count(n) == 0; ++r) {
        auto run = mesh::bench::run_raw_tcp(o, n);
        if (!run) {
          std::cerr << "meshbench: raw_tcp x" << n << ": "
                    << mesh::error_text(run.error()) << "\n";
          ++failures;
          break;
        }
        runs.push_back(*run);
      }
      if (tcp.count(n) == 0 && runs.size() == o.repeat)
        tcp[n] = median_run(runs);
      if (tcp.count(n) == 0)
        continue;
      json entry{{"in_flight", n}, {"result", tcp[n]}};
      if (!runs.empty())
        entry["runs"] = runs;
      report["raw_tcp"].push_back(entry);
    }
  }
  if (pair && o.idle.count() > 0) {
    auto before = cpu_seconds(env.pid_of_a());
    std::this_thread::sleep_for(o.idle); // the measurement itself: idling
    auto used = cpu_seconds(env.pid_of_a()) - before;
    auto percent = 100.0 * used / std::chrono::duration<double>(o.idle).count();
    report["idle_cpu_percent"] = percent;
    std::cout << "idle node (2-node cluster, heartbeats on): " << fmt(percent, 2)
              << " % of one core over " << idle_ms << " ms\n\n";
  }
  // The baseline is bare CAF, except for the process scenarios, whose
  // baseline is Mesh's plain dispatch of the same handler (see the JSON's
  // baseline_what). Raw TCP's own row gives its figures (ratios 1).
  if (table || !tcp.empty())
    std::cout << "                               Mesh                              "
               "|  baseline          |  Mesh / baseline |  Mesh / raw TCP\n"
            << "scenario         n     req/s   p50_us   p90_us   p99_us    max_us "
               "|      req/s   p50_us |   req/s     p50 |   req/s     p50\n";
  for (const auto& [n, t] : tcp)
    print_row("raw_tcp", n, t, t, t);
  for (const auto& s : mesh::bench::scenarios()) {
    if (!o.scenarios.empty()
        && std::find(o.scenarios.begin(), o.scenarios.end(), s.name)
             == o.scenarios.end())
      continue;
    for (auto n : o.in_flight) {
      // Alternate Mesh and baseline so that drift of the machine hits both.
      std::vector<json> meshes, bases;
      std::string error;
      for (size_t r = 0; r < o.repeat && error.empty(); ++r) {
        auto mesh = s.mesh(env, n);
        auto base = s.baseline(env, n);
        if (!mesh || !base)
          error = mesh::error_text(!mesh ? mesh.error() : base.error());
        else {
          meshes.push_back(*mesh);
          bases.push_back(*base);
        }
      }
      if (!error.empty()) {
        std::cerr << "meshbench: " << s.name << " x" << n << ": " << error
                  << "\n";
        ++failures;
        continue;
      }
      auto mesh = median_run(meshes);
      auto base = median_run(bases);
      auto t = tcp.count(n) > 0 ? tcp[n] : json{};
      print_row(s.name, n, mesh, base, t);
      json ratio_doc{{"mesh_vs_baseline", ratios(mesh, base)},
                     {"mesh_vs_baseline_pairwise", pairwise(meshes, bases)}};
      if (meshes.size() > 1) {
        const auto& pw = ratio_doc["mesh_vs_baseline_pairwise"];
        std::cout << "    " << meshes.size() << " adjacent pairs, Mesh / "
                  << "baseline: req/s median " << fmt(pw["requests_per_s"], 2)
                  << " (" << fmt(pw["requests_per_s_min"], 2) << "-"
                  << fmt(pw["requests_per_s_max"], 2) << "), p50 median "
                  << fmt(pw["p50"], 2) << "\n";
      }
      if (t.is_object()) {
        ratio_doc["mesh_vs_raw_tcp"] = ratios(mesh, t);
        ratio_doc["baseline_vs_raw_tcp"] = ratios(base, t);
      }
      report["results"].push_back({{"scenario", s.name},
                                   {"what", s.what},
                                   {"baseline_what", s.baseline_what},
                                   {"in_flight", n},
                                   {"mesh", mesh},
                                   {"baseline", base},
                                   {"ratios", ratio_doc},
                                   {"mesh_runs", meshes},
                                   {"baseline_runs", bases}});
    }
  }
  // Remote dispatch's ratios to each peer: their own table.
  mesh::bench::print_peers(report);
  // Durable tasks: their own table (tasks per second, emit-to-start).
  if (o.scenarios.empty()
      || std::find(o.scenarios.begin(), o.scenarios.end(), "tasks")
           != o.scenarios.end()) {
    report["tasks"] = mesh::bench::run_task_bench(env, task_count);
    for (const auto& r : report["tasks"].value("runs", json::array()))
      failures += r.contains("error") ? 1 : 0;
  }
  // Workflows: their own table (per-step overhead, runs per second).
  if (o.scenarios.empty()
      || std::find(o.scenarios.begin(), o.scenarios.end(), "workflows")
           != o.scenarios.end()) {
    report["workflows"] = mesh::bench::run_workflow_bench(env, workflow_runs);
    for (const auto& r : report["workflows"].value("runs", json::array()))
      failures += r.contains("error") ? 1 : 0;
  }
  // Scale: its own cluster, its own table.
  if (selected("scale")) {
    report["scale"] = mesh::bench::run_scale_bench(
      o, scale_nodes, std::chrono::milliseconds{scale_idle_ms});
    failures += report["scale"].contains("error") ? 1 : 0;
  }
  if (!o.json_path.empty())
    std::ofstream{o.json_path} << report.dump(2) << "\n";
  return failures == 0 ? 0 : 1;
}
