#pragma once

// Helpers of the dispatch-pipeline cluster suites (cluster.pipeline and
// cluster.pipeline_resilience): nodes started from a config file (policies
// live there), the test plug-in of handlers and hooks
// (build/bin/libmesh_test_pipeline.so, tests/plugins/pipeline_handlers.cpp),
// a console session for many fast requests, and a freeze guard (SIGSTOP
// until the guard goes).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "node/net/console_client.hpp"
#include "process.hpp"
#include "protocol/status.hpp"
#include "temp_dir.hpp"

namespace mesh::test {

using clock_type = std::chrono::steady_clock;

inline int64_t us_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           clock_type::now() - start)
    .count();
}

/// The plug-in of pipe/Svc/* handlers and the test hooks.
inline std::string pipe_plugin() {
  return bin("libmesh_test_pipeline.so");
}

/// A node's configuration: its id, ephemeral addresses, its own data dir,
/// no plug-in; `extra` is merged over it (JSON merge patch).
inline nlohmann::json pipe_config(const temp_dir& dir, const std::string& id,
                                  const nlohmann::json& extra
                                  = nlohmann::json::object()) {
  nlohmann::json cfg{{"id", id},
                     {"listen", "127.0.0.1:0"},
                     {"console", "127.0.0.1:0"},
                     {"http", "127.0.0.1:0"},
                     {"data_dir", dir.file("data-" + id)},
                     {"plugins", nlohmann::json::array()}};
  cfg.merge_patch(extra);
  return cfg;
}

/// Writes `cfg` to dir/ID.json; returns the path.
inline std::string write_config(const temp_dir& dir,
                                const nlohmann::json& cfg) {
  return dir.write(cfg["id"].get<std::string>() + ".json", cfg.dump(2));
}

/// Starts meshnode --config FILE (written from `cfg`) with `env`.
inline std::unique_ptr<node_process>
start_configured(const temp_dir& dir, const nlohmann::json& cfg,
                 std::vector<std::string> env = {},
                 std::vector<std::string> args = {}) {
  std::vector<std::string> argv{"--config", write_config(dir, cfg)};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<node_process>(argv, 60s, false, std::move(env));
}

/// Heartbeats slow enough that a peer frozen for the length of a test stays
/// up (suspect after 50 s of silence, half the misses): what notices it is
/// the pipeline's per-try timeouts, outlier ejection and hedging, not the
/// failure detector.
inline nlohmann::json patient_heartbeats() {
  return {{"heartbeat_interval_ms", 1000}, {"heartbeat_misses", 100}};
}

/// A server of the pipe handlers (and hooks) seeded with `seeds`.
inline std::unique_ptr<node_process>
start_server(const temp_dir& dir, const std::string& id,
             std::vector<std::string> env = {},
             const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json cfg = pipe_config(
    dir, id,
    {{"plugins", {pipe_plugin()}}, {"cluster", patient_heartbeats()}});
  cfg.merge_patch(extra);
  return start_configured(dir, cfg, std::move(env));
}

/// A caller that serves namespace "pipe" without its handlers (so every
/// pipe request goes to a peer), joined to `servers`, with `policies`.
inline std::unique_ptr<node_process>
start_caller(const temp_dir& dir, const std::string& id,
             const std::vector<node_process*>& servers,
             const nlohmann::json& policies) {
  auto seeds = nlohmann::json::array();
  for (auto* s : servers)
    seeds.push_back(s->listen());
  auto cluster = patient_heartbeats();
  cluster["seeds"] = seeds;
  return start_configured(dir, pipe_config(dir, id,
                                           {{"namespaces", {"pipe"}},
                                            {"cluster", cluster},
                                            {"policies", policies}}));
}

/// A console connection kept open for many requests: what a test uses when
/// forking meshctl for each of them would be too slow.
class console_session {
public:
  explicit console_session(const std::string& console) : console_(console) {
    auto c = mesh::console_client::connect(console);
    if (!c)
      CAF_FAIL("cannot connect to the console at "
               << console << ": " << mesh::error_text(c.error()));
    client_ = std::move(*c);
  }

  /// The console's reply; {"ok": false, "status": "client_error", "error":
  /// ...} when none came. Safe to call from several threads at once.
  nlohmann::json call(const nlohmann::json& cmd,
                      std::chrono::milliseconds timeout = 30s) {
    auto r = client_->call(cmd, timeout);
    if (!r)
      return {{"ok", false},
              {"status", "client_error"},
              {"error", mesh::error_text(r.error())}};
    return std::move(*r);
  }

  /// dispatch pipe/Svc/METHOD with `payload`, asking for the explanation
  /// (which a plain success carries only when asked); `extra` adds keys to
  /// the command (target, directives).
  nlohmann::json dispatch(const std::string& method,
                          const nlohmann::json& payload
                          = nlohmann::json::object(),
                          const nlohmann::json& extra
                          = nlohmann::json::object()) {
    nlohmann::json cmd{{"cmd", "dispatch"}, {"namespace", "pipe"},
                       {"service", "Svc"},  {"method", method},
                       {"payload", payload}, {"explain", true}};
    cmd.update(extra);
    return call(cmd);
  }

  /// `breakers` as {node: row} for service pipe/Svc; empty without answer.
  nlohmann::json breakers() {
    auto r = call({{"cmd", "breakers"}});
    auto out = nlohmann::json::object();
    if (!r.value("ok", false))
      return out;
    for (const auto& row : r["result"])
      if (row.value("service", "") == "pipe/Svc")
        out[row["node"].get<std::string>()] = row;
    return out;
  }

  const std::string& console() const {
    return console_;
  }

private:
  std::string console_;
  std::unique_ptr<mesh::console_client> client_;
};

/// The state of `node` in a breakers view ("closed" when it has no row).
inline std::string breaker_state(const nlohmann::json& view,
                                 const std::string& node) {
  if (!view.contains(node))
    return "closed";
  return view[node].value("state", "closed");
}

/// Stops a process with SIGSTOP; SIGCONT when thawed or destroyed, so a
/// failing test never leaves a frozen node behind.
class freeze_guard {
public:
  explicit freeze_guard(pid_t pid) : pid_(pid) {
    CAF_REQUIRE(::kill(pid_, SIGSTOP) == 0);
    // SIGSTOP takes effect when each thread is next scheduled: on a loaded
    // machine a request can still be answered meanwhile. Frozen means every
    // thread of the process is in state T.
    CAF_REQUIRE(await_condition([this] { return all_stopped(); }));
  }
  ~freeze_guard() {
    thaw();
  }
  freeze_guard(const freeze_guard&) = delete;
  freeze_guard& operator=(const freeze_guard&) = delete;

  void thaw() {
    if (pid_ > 0)
      ::kill(pid_, SIGCONT);
    pid_ = 0;
  }

private:
  bool all_stopped() const {
    auto dir = "/proc/" + std::to_string(pid_) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(dir.c_str()), ::closedir};
    if (!d)
      return false;
    int threads = 0;
    while (auto* e = ::readdir(d.get())) {
      if (e->d_name[0] == '.')
        continue;
      std::ifstream in{dir + "/" + e->d_name + "/stat"};
      std::string line;
      std::getline(in, line);
      // The state follows the command name, which is in parentheses.
      auto close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size())
        return false;
      if (line[close + 2] != 'T' && line[close + 2] != 't')
        return false;
      ++threads;
    }
    return threads > 0;
  }

  pid_t pid_;
};

/// The q-quantile (0..1) of `xs` (nearest rank); 0 for none.
inline int64_t quantile(std::vector<int64_t> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = static_cast<double>(xs.size());
  auto rank = static_cast<size_t>(std::ceil(q * n));
  rank = std::clamp<size_t>(rank, 1, xs.size());
  return xs[rank - 1];
}

/// The explain attempts of a dispatch reply (an empty array when none).
inline nlohmann::json attempts_of(const nlohmann::json& reply) {
  auto result = result_of(reply);
  if (!result.contains("explain") || !result["explain"].contains("attempts"))
    return nlohmann::json::array();
  return result["explain"]["attempts"];
}

/// Waits until a dispatch of pipe/Svc/Echo targeted at each server answers
/// from that server (with any status: a broken server answers unavailable):
/// the caller knows every server's routes.
inline bool await_routes(console_session& s,
                         const std::vector<node_process*>& servers) {
  for (auto* srv : servers) {
    bool ok = await_condition([&] {
      auto r = s.dispatch("Echo", nlohmann::json::object(),
                          {{"target", srv->id()}});
      return result_of(r).value("handled_by", "") == srv->id();
    });
    if (!ok)
      return false;
  }
  return true;
}

} // namespace mesh::test
