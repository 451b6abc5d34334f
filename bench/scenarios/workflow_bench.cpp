#include "bench/scenarios/workflow_bench.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "protocol/status.hpp"

namespace mesh::bench {

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr auto call_timeout = std::chrono::seconds{60};
constexpr size_t chain_length = 20;
constexpr size_t rounds = 50; ///< each: 4 chain1, 1 chain20, 4 dispatches
constexpr size_t short_per_round = 4;
constexpr size_t starters = 4; ///< client threads starting async runs

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}


double quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

json figures(const std::vector<double>& us) {
  double sum = 0;
  for (auto x : us)
    sum += x;
  return {{"n", us.size()},
          {"p50_us", quantile(us, 0.5)},
          {"p90_us", quantile(us, 0.9)},
          {"p99_us", quantile(us, 0.99)},
          {"mean_us", us.empty() ? 0.0 : sum / static_cast<double>(us.size())}};
}

// chain1: one call; chainN: N calls, each passing the previous output on;
// three: a -> b -> c as a DAG.
void write_definitions(const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto step = [](const std::string& id, const std::string& from) {
    return json{{"id", id},
                {"call", "bench/Local/Echo"},
                {"params", {{"x", from}}}};
  };
  auto chain = [&](size_t n) {
    auto steps = json::array();
    for (size_t i = 1; i <= n; ++i)
      steps.push_back(step("s" + std::to_string(i),
                           i == 1 ? "${input.x}"
                                  : "${steps.s" + std::to_string(i - 1)
                                      + ".output.x}"));
    return json{{"name", "chain" + std::to_string(n)},
                {"mode", "sequential"},
                {"steps", steps}};
  };
  std::ofstream{dir + "/chain1.json"} << chain(1).dump(2);
  std::ofstream{dir + "/chain" + std::to_string(chain_length) + ".json"}
    << chain(chain_length).dump(2);
  auto a = step("a", "${input.x}");
  auto b = step("b", "${steps.a.output.x}");
  b["depends_on"] = {"a"};
  auto c = step("c", "${steps.b.output.x}");
  c["depends_on"] = {"b"};
  std::ofstream{dir + "/three.json"}
    << json{{"name", "three"}, {"mode", "dag"}, {"steps", {a, b, c}}}.dump(2);
}

// The bench settings (as bench_env's nodes have them) plus the run store's
// synchronous mode, which has no flag.
std::string write_config(const bench_env& env, const std::string& dir,
                         const std::string& sync) {
  const auto& o = env.opts;
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", {{"listen", "127.0.0.1:0"}}},
           {"scheduler",
            {{"policy", o.policy},
             {"max_threads", o.threads},
             {"middleman_workers", o.middleman_workers}}},
           {"cluster", {{"heartbeat_interval_ms", o.heartbeat_ms}}},
           {"workflow_runs", {{"synchronous", sync}}}};
  auto path = dir + "/node.json";
  std::ofstream{path} << cfg.dump(2);
  return path;
}

caf::expected<json> call(console_client& c, const json& cmd) {
  auto r = c.call(cmd, call_timeout);
  if (!r)
    return r.error();
  if (!r->value("ok", false))
    return make_error(status_code::internal, "node: " + r->dump());
  return r->contains("result") ? (*r)["result"] : *r;
}

// One run, waited for; the time it took as the client saw it, in µs.
caf::expected<double> timed_run(console_client& c, const std::string& name,
                                const json& input) {
  auto t = clock_type::now();
  auto r = call(c, {{"cmd", "workflow_run"}, {"name", name}, {"input", input}});
  auto us = seconds_since(t) * 1e6;
  if (!r)
    return r.error();
  if (r->value("status", "") != "success")
    return make_error(status_code::internal,
                      name + " ended " + r->value("status", "?") + ": "
                        + r->value("error", ""));
  return us;
}

// A plain dispatch of the handler every step calls, with the same payload.
caf::expected<double> timed_dispatch(console_client& c, const json& payload) {
  auto t = clock_type::now();
  auto r = call(c, {{"cmd", "dispatch"}, {"namespace", "bench"},
                    {"service", "Local"}, {"method", "Echo"},
                    {"payload", payload}});
  auto us = seconds_since(t) * 1e6;
  if (!r)
    return r.error();
  return us;
}

// chain1, chainN and dispatches interleaved, one at a time, so that the
// machine's drift hits all three alike.
caf::expected<json> measure_latency(console_client& c, const json& input) {
  std::vector<double> one, many, plain;
  auto chain_n = "chain" + std::to_string(chain_length);
  // Warm-up: caches, the router's idempotency answer, SQLite's pages.
  for (size_t i = 0; i < 20; ++i) {
    auto a = timed_run(c, "chain1", input);
    auto b = timed_dispatch(c, input);
    if (!a || !b)
      return !a ? a.error() : b.error();
    if (i % 4 == 0)
      if (auto x = timed_run(c, chain_n, input); !x)
        return x.error();
  }
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < short_per_round; ++i) {
      auto a = timed_run(c, "chain1", input);
      auto b = timed_dispatch(c, input);
      if (!a || !b)
        return !a ? a.error() : b.error();
      one.push_back(*a);
      plain.push_back(*b);
    }
    auto x = timed_run(c, chain_n, input);
    if (!x)
      return x.error();
    many.push_back(*x);
  }
  auto per_step = (quantile(many, 0.5) - quantile(one, 0.5))
                  / static_cast<double>(chain_length - 1);
  return json{{"chain1", figures(one)},
              {chain_n, figures(many)},
              {"console_dispatch", figures(plain)},
              {"per_step_p50_us", per_step}};
}

// bench/Driver/Run on W: router -> local echo, 1 in flight, no console.
caf::expected<json> in_node_dispatch(bench_env& env, console_client& c) {
  auto budget = env.opts.warmup + env.opts.duration + std::chrono::seconds{30};
  auto r = c.call({{"cmd", "dispatch"}, {"namespace", "bench"},
                   {"service", "Driver"}, {"method", "Run"},
                   {"deadline_ms", budget.count()},
                   {"payload", env.driver_args("bench/Local/Echo", 1)}},
                  budget);
  if (!r)
    return r.error();
  if (!r->value("ok", false))
    return make_error(status_code::internal, "driver: " + r->dump());
  return (*r)["result"]["payload"];
}

// N runs of `three` started with async by a few client threads, timed
// until the store holds none running.
caf::expected<json> measure_throughput(bench_env& env, console_client& c,
                                       const std::string& console, pid_t pid,
                                       size_t n, const json& input) {
  std::vector<std::unique_ptr<console_client>> clients;
  for (size_t i = 0; i < starters; ++i) {
    auto x = console_client::connect(
      console, [&env](caf::actor_system_config& cfg) { env.configure(cfg); });
    if (!x)
      return x.error();
    clients.push_back(std::move(*x));
  }
  std::vector<std::string> errors(starters);
  auto cpu_before = cpu_seconds(pid);
  auto started = clock_type::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < starters; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = t; i < n && errors[t].empty(); i += starters) {
        auto r = call(*clients[t], {{"cmd", "workflow_run"}, {"name", "three"},
                                    {"input", input}, {"async", true}});
        if (!r || !r->contains("run_id"))
          errors[t] = r ? r->dump() : error_text(r.error());
      }
    });
  for (auto& th : threads)
    th.join();
  auto start_seconds = seconds_since(started);
  for (const auto& e : errors)
    if (!e.empty())
      return make_error(status_code::internal, "async start: " + e);
  bool settled = false;
  while (!settled && seconds_since(started) < 300) {
    auto r = call(c, {{"cmd", "runs"}, {"workflow", "three"},
                      {"status", "running"}, {"limit", 1}});
    if (!r)
      return r.error();
    settled = r->value("runs", json::array()).empty();
    if (!settled)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  auto elapsed = seconds_since(started);
  auto cpu = cpu_seconds(pid) - cpu_before;
  if (!settled)
    return make_error(status_code::deadline_exceeded,
                      "runs of three still running after 300 s");
  // The store keeps the newest finished runs (workflow_runs.history): every
  // one of those must have succeeded.
  auto kept = call(c, {{"cmd", "runs"}, {"workflow", "three"},
                       {"limit", 10000}});
  if (!kept)
    return kept.error();
  std::map<std::string, size_t> by_status;
  for (const auto& r : kept->value("runs", json::array()))
    ++by_status[r.value("status", "?")];
  if (by_status.size() != 1 || by_status.count("success") == 0)
    return make_error(status_code::internal,
                      "runs of three did not all succeed: "
                        + json(by_status).dump());
  auto dn = static_cast<double>(n);
  return json{{"runs", n},
              {"seconds", elapsed},
              {"runs_per_s", dn / elapsed},
              {"start_seconds", start_seconds},
              {"node_cpu_us_per_run", cpu * 1e6 / dn},
              {"kept_successes", by_status["success"]}};
}

json measure(bench_env& env, const std::string& dir, const std::string& sync,
             size_t n) {
  write_definitions(dir + "/defs");
  auto config = write_config(env, dir, sync);
  json ready;
  auto node = env.start_node({"--id", "bench-wf-" + sync, "--plugin",
                              env.opts.bin_dir + "/libmesh_bench_plugin.so",
                              "--workflows", dir + "/defs", "--data-dir",
                              dir + "/data"},
                             ready, config);
  if (!node)
    return {{"sync", sync}, {"error", error_text(node.error())}};
  auto console = ready["console"].get<std::string>();
  auto client = console_client::connect(
    console, [&env](caf::actor_system_config& cfg) { env.configure(cfg); });
  if (!client)
    return {{"sync", sync}, {"error", error_text(client.error())}};
  auto& c = **client;
  json input{{"x", std::string(env.opts.payload_bytes, 'x')}};
  json out{{"sync", sync}};
  auto lat = measure_latency(c, input);
  if (!lat)
    return {{"sync", sync}, {"error", "latency: " + error_text(lat.error())}};
  out["latency"] = *lat;
  auto driver = in_node_dispatch(env, c);
  if (!driver)
    return {{"sync", sync}, {"error", "driver: " + error_text(driver.error())}};
  out["in_node_dispatch"] = *driver;
  auto tp = measure_throughput(env, c, console, node->pid(), n, input);
  if (!tp)
    return {{"sync", sync}, {"error", "three: " + error_text(tp.error())}};
  out["three"] = *tp;
  auto step = (*lat)["per_step_p50_us"].get<double>();
  auto console_p50 = (*lat)["console_dispatch"]["p50_us"].get<double>();
  auto node_p50 = driver->value("p50_us", 0.0);
  out["per_step_over_console_dispatch_p50"] =
    console_p50 > 0 ? step / console_p50 : 0.0;
  out["per_step_over_in_node_dispatch_p50"] =
    node_p50 > 0 ? step / node_p50 : 0.0;
  client->reset();
  node->signal_and_wait(SIGTERM, std::chrono::seconds{10});
  return out;
}

std::string fmt(const json& x, int precision) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision)
    << (x.is_number() ? x.get<double>() : 0.0);
  return s.str();
}

} // namespace

json run_workflow_bench(bench_env& env, size_t n) {
  char tmpl[] = "/tmp/meshbench-workflows-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return {{"error", "cannot create a temp folder"}};
  std::string dir = tmpl;
  auto chain_n = "chain" + std::to_string(chain_length);
  json out{{"runs_of_three", n}, {"chain_length", chain_length},
           {"runs", json::array()}};
  std::cout << "\nworkflows: one run at a time through the console ("
            << rounds * short_per_round << " x chain1, " << rounds << " x "
            << chain_n << ", " << rounds * short_per_round
            << " plain dispatches, interleaved); " << n
            << " async runs of three (a -> b -> c)\n"
            << "store    chain1_p50  " << chain_n
            << "_p50  step_p50 | dispatch p50: console  in-node | step / "
               "console  in-node | three runs/s  CPU_us/run\n";
  for (const std::string sync : {"normal", "off"}) {
    auto m = measure(env, dir + "/" + sync, sync, n);
    if (m.contains("error")) {
      std::cout << sync << ": " << m["error"].get<std::string>() << "\n";
      out["runs"].push_back(m);
      continue;
    }
    const auto& lat = m["latency"];
    std::cout << std::left << std::setw(7) << sync << std::right
              << std::setw(12) << fmt(lat["chain1"]["p50_us"], 0)
              << std::setw(13) << fmt(lat[chain_n]["p50_us"], 0)
              << std::setw(10) << fmt(lat["per_step_p50_us"], 1) << " |"
              << std::setw(21) << fmt(lat["console_dispatch"]["p50_us"], 0)
              << std::setw(9)
              << fmt(m["in_node_dispatch"]["p50_us"], 1)
              << " |" << std::setw(15)
              << fmt(m["per_step_over_console_dispatch_p50"], 2)
              << std::setw(9) << fmt(m["per_step_over_in_node_dispatch_p50"], 1)
              << " |" << std::setw(13) << fmt(m["three"]["runs_per_s"], 0)
              << std::setw(12) << fmt(m["three"]["node_cpu_us_per_run"], 0)
              << "\n";
    out["runs"].push_back(std::move(m));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return out;
}

} // namespace mesh::bench
