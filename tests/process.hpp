#pragma once

// Runs real meshnode and meshctl processes for the process-level tests.
// Every child dies with the test binary (PR_SET_PDEATHSIG) and is killed by
// its owner's destructor, so a failing test never leaves nodes behind.

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/os/child_process.hpp"

namespace mesh::test {

using namespace std::chrono_literals;

/// Path of a built binary or plug-in (build/bin/NAME).
std::string bin(const std::string& name);

using run_result = mesh::completed_run;

/// Runs a program to completion; kills it after `timeout`.
run_result run_program(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout = 60s);

/// Runs meshctl against a node's HTTP address ("host:port", the ready
/// line's "http": node_process::http()), with --json unless `human`.
run_result meshctl(const std::string& http, std::vector<std::string> args,
                   bool human = false, std::chrono::milliseconds timeout = 60s);

/// meshctl --json that must exit with `expected_exit`; returns the parsed
/// envelope ({"ok", "status", "code", "result" | "error"}).
nlohmann::json meshctl_json(const std::string& http,
                            std::vector<std::string> args,
                            int expected_exit = 0);

/// The "result" of an envelope, or an empty object when it has none: what
/// a dispatch, process or publish answered (failed ones included: who
/// handled it, the trace id, the strategy's choice).
nlohmann::json result_of(const nlohmann::json& envelope);

/// Calls `probe` (which must do a real round trip, e.g. run meshctl) until
/// it returns true or `timeout` passes: a condition awaited, not a sleep.
bool await_condition(const std::function<bool()>& probe,
                     std::chrono::milliseconds timeout = 30s);

/// What `meshctl --json` prints for `command` ({"cmd": name, args...}):
/// the node's envelope, asked over HTTP by this process; null when the node
/// does not answer. For probes a test repeats while it awaits a condition:
/// starting meshctl for each would cost more CPU than the condition it
/// awaits (several times more under the sanitizers). Tests of meshctl
/// itself run meshctl.
nlohmann::json ask_node(const std::string& http,
                        const nlohmann::json& command);

/// `meshctl peers` of a node (its HTTP address) as {id: peer}; empty when
/// it cannot answer.
nlohmann::json peers_of(const std::string& http);

/// True when the node at `http` sees every id in `ids` in `state`.
bool sees(const std::string& http, const std::vector<std::string>& ids,
          const std::string& state = "up");

/// A memory figure of a process in KiB, from /proc/PID/status: "VmRSS"
/// (resident now) or "VmHWM" (its peak so far); 0 when it cannot be read.
size_t status_kib(pid_t pid, const std::string& field);

/// A running meshnode. The constructor waits for its ready line.
class node_process {
public:
  /// Starts `meshnode ARGS --listen 127.0.0.1:0 --console 127.0.0.1:0
  /// --http 127.0.0.1:0` and waits for the ready line. --listen and
  /// --console are added only when ARGS has neither them nor --config;
  /// --http whenever ARGS lacks it (a config file's "http" too is
  /// overridden: no test node ever takes the default port 7422).
  explicit node_process(std::vector<std::string> args,
                        std::chrono::milliseconds ready_timeout = 60s,
                        bool add_addresses = true,
                        std::vector<std::string> env = {});
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  const std::string& id() const { return id_; }
  const std::string& listen() const { return listen_; }
  /// The console's address (CAF: console_client, bench clients).
  const std::string& console() const { return console_; }
  /// The HTTP API's address (meshctl, curl): the ready line's "http".
  const std::string& http() const { return http_; }
  /// The gRPC front door's address (the ready line's "grpc"); empty unless
  /// the node was started with --grpc.
  const std::string& grpc() const { return grpc_; }
  /// The data plane's port (the ready line's "data_plane"); empty when off.
  const std::string& data_plane() const { return data_plane_; }
  pid_t pid() const { return child_.pid(); }
  bool started() const { return started_; }

  /// SIGTERM, then waits for the exit; returns the exit code (-1 if it had
  /// to be killed after `timeout`).
  int terminate(std::chrono::milliseconds timeout = 60s);

  /// Waits for the node to exit on its own; its exit code (-1 if it was
  /// still running after `timeout`, and then it is killed).
  int wait_exit(std::chrono::milliseconds timeout = 60s);

  /// SIGKILL, no goodbye.
  void kill_hard();

  bool running();

  /// The node's stderr so far (its log).
  std::string log() const;

private:
  mesh::child_process child_;
  bool started_ = false;
  std::string id_, listen_, console_, http_, grpc_, data_plane_, log_path_;
};

} // namespace mesh::test
