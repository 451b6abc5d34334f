#pragma once

// What every meshbench scenario shares: the options, the two meshnode
// processes (A measures, B serves the echo handler), a console client of A,
// and helpers to run the bare-CAF baseline processes.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "node/os/child_process.hpp"
#include "node/net/console_client.hpp"

namespace mesh::bench {

struct bench_options {
  bool pin = false;   ///< every process on CPU 0
  bool apart = false; ///< the serving side on CPU 0, the calling side on 1
  std::vector<size_t> in_flight{1, 64};
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds duration{3000};
  std::chrono::milliseconds idle{3000};
  size_t payload_bytes = 100;
  size_t repeat = 3; ///< Mesh and baseline alternate; medians are reported
  std::vector<std::string> scenarios; ///< empty: all
  std::string policy = "sharing";
  size_t threads = 0; ///< 0: one per usable CPU (1 with --pin), as the node
  size_t middleman_workers = 0;
  int64_t heartbeat_ms = 1000; // the node's default heartbeat_interval_ms
  bool data_plane = true;      // cluster.data_plane: off compares with BASP
  uint32_t serve_chunk = 32;   // cluster.serve_chunk (0: whole batches)
  bool serve_chunk_adaptive = true; // cluster.serve_chunk_adaptive
  uint32_t plane_spin_us = 100;     // cluster.data_plane_spin_us
  uint32_t worker_spin_us = 100;    // scheduler.worker_spin_us
  std::string bin_dir;
  std::string json_path;
};

/// Where a process of a measurement runs (-1: wherever it may). --pin puts
/// every process on CPU 0; --pin-apart gives each side of a measurement its
/// own CPU, as two machines would have: the serving side (node B and the
/// other nodes, the baselines' servers and relays) CPU 0, the calling side
/// (node A, a hedging caller, the baselines' clients, meshbench) CPU 1
/// (the scale scenario's nodes take turns on the two).
inline int serving_cpu(const bench_options& o) {
  return o.pin || o.apart ? 0 : -1;
}
inline int calling_cpu(const bench_options& o) {
  return o.pin ? 0 : (o.apart ? 1 : -1);
}

class bench_env {
public:
  explicit bench_env(bench_options opts) : opts(std::move(opts)) {}
  ~bench_env();

  bench_options opts;

  /// Starts node B (example handlers; serves echo) and node A (bench
  /// plug-in; serves bench and declares echo, so echo runs on B), and waits
  /// until A sees B up. Both have two record dispatchers on "bench.fanout.>"
  /// (four dispatchers on two nodes for the publish scenario).
  caf::error start_nodes();

  /// The console client of node A (its CAF settings match the nodes').
  console_client& client_of_a() {
    return *client_a_;
  }

  pid_t pid_of_a() const {
    return node_a_.pid();
  }

  /// The load spec for `in_flight` from the options.
  nlohmann::json driver_args(const std::string& target, size_t in_flight) const;

  /// Runs bench/Driver/Run on node A and returns its figures. `options`
  /// go to the driver as well (bench/bench_plugin.cpp): {"prebuilt": true}
  /// sends one prebuilt request message each time (the driver copies
  /// nothing per request: the process scenarios' baseline, whose driver
  /// does the same); {"non_blocking": true} declares the driver a
  /// non-blocking caller (actors/cluster/data/non_blocking_callers.hpp).
  caf::expected<nlohmann::json>
  drive_inside_a(const std::string& target, size_t in_flight,
                 const nlohmann::json& options = nlohmann::json::object());

  /// Runs bench/Driver/Process on node A: process dispatch of `process`
  /// (bench_rollout or bench_bandit, whose variants are bench/Local/Echo).
  caf::expected<nlohmann::json> drive_process_inside_a(
    const std::string& process, size_t in_flight);

  /// Runs bench/Driver/Publish on node A: publishes of `topic`.
  caf::expected<nlohmann::json> drive_publish_inside_a(const std::string& topic,
                                                       size_t in_flight);

  /// Runs bench/Driver/Run on a second pair of nodes, A' and B', whose
  /// peer connection is mutual TLS (certificates made on first use by
  /// examples/tls/make-certs.sh); the same settings as A and B otherwise.
  caf::expected<nlohmann::json> drive_inside_tls_a(const std::string& target,
                                                   size_t in_flight);

  /// Runs bench/Driver/Run on a caller H whose two peers S1 and S2 serve an
  /// echo with a slow tail (2 % of calls take 20 ms); H's policies hedge
  /// tailfixed/*/* after 5 ms and tailadapt/*/* after the peer's p95.
  caf::expected<nlohmann::json> drive_inside_hedge(const std::string& target,
                                                   size_t in_flight);

  /// Runs bench/Driver/Run on a third pair, A" and B", started with
  /// MESH_PIPELINE_BYPASS=1: the dispatch pipeline's baseline.
  caf::expected<nlohmann::json> drive_inside_bypass_a(const std::string& target,
                                                      size_t in_flight);

  /// Runs `caf_echo MODE ARGS` to completion and parses its JSON line.
  caf::expected<nlohmann::json> run_caf_echo(std::vector<std::string> args);

  /// Starts a long-running `caf_echo serve|relay ...` and returns its port.
  caf::expected<std::string> start_caf_server(std::vector<std::string> args);

  /// Stops the caf_echo servers started so far.
  void stop_caf_servers();

  /// CAF's settings as caf_echo flags, identical to the nodes'.
  std::vector<std::string> caf_flags() const;

  /// Applies the same settings to a CAF config (meshbench's own client).
  void configure(caf::actor_system_config& cfg) const;

  /// Starts one more meshnode with the bench settings and `args`; `ready`
  /// is its ready line. `calling`: it runs on the calling side's CPU.
  caf::expected<child_process> start_node(const std::vector<std::string>& args,
                                          nlohmann::json& ready,
                                          const std::string& config = {},
                                          bool calling = false);

private:
  /// `caf_echo ARGS` with the nodes' CAF settings, on the calling or the
  /// serving side's CPU.
  spawn_options caf_echo_options(std::vector<std::string> args,
                                 bool calling) const;
  caf::expected<nlohmann::json> call_driver(const std::string& method,
                                            nlohmann::json args);
  caf::expected<nlohmann::json> call_driver(console_client& client,
                                            const std::string& method,
                                            nlohmann::json args);
  caf::error start_tls_nodes();
  /// Starts B (serves echo) then A (bench plug-in, seeded with B) with
  /// `extra` flags, and waits until A routes echo to B.
  caf::error start_pair(const std::string& suffix,
                        const std::vector<std::string>& extra_a,
                        const std::vector<std::string>& extra_b,
                        child_process& a, child_process& b,
                        std::unique_ptr<console_client>& client);
  std::string config_path_;
  std::string manifests_dir_;
  child_process node_a_, node_b_;
  std::unique_ptr<console_client> client_a_;
  std::string tls_dir_;
  child_process tls_a_, tls_b_;
  std::unique_ptr<console_client> tls_client_;
  caf::error start_hedge_nodes();
  child_process bypass_a_, bypass_b_;
  child_process hedge_h_, hedge_s1_, hedge_s2_;
  std::unique_ptr<console_client> hedge_client_;
  std::unique_ptr<console_client> bypass_client_;
  std::vector<std::string> node_env_; ///< for the nodes start_node starts
  std::vector<child_process> caf_servers_;
};

/// utime + stime of a process, in clock ticks (/proc/PID/stat; 0 if gone).
long cpu_ticks(pid_t pid);

/// The same in seconds.
double cpu_seconds(pid_t pid);

} // namespace mesh::bench
