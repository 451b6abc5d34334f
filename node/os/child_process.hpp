#pragma once

// Starting and supervising child processes (meshnode, meshctl, benchmark
// helpers) for the process-level tests and meshbench. A child dies with its
// parent (PR_SET_PDEATHSIG) and with its owner object, so nothing outlives
// a test or a benchmark run.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <caf/expected.hpp>

namespace mesh {

struct spawn_options {
  std::vector<std::string> argv;  ///< argv[0] is the program's path
  std::vector<std::string> env;   ///< "NAME=value", added to ours
  std::string stderr_path;        ///< file for stderr; empty: /dev/null
  int pin_cpu = -1;               ///< sched_setaffinity({pin_cpu}) in the
                                  ///< child; -1: wherever it may run
};

class child_process {
public:
  child_process() = default;
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  ~child_process();

  /// Starts a child with stdout on a pipe (readable with read_line).
  static caf::expected<child_process> spawn(const spawn_options& opts);

  pid_t pid() const {
    return pid_;
  }

  /// The next line the child writes to stdout; nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  /// Sends `sig`, then waits: the exit code (128 + signal if killed), or
  /// nullopt when the child is still running after `timeout`.
  std::optional<int> signal_and_wait(int sig,
                                     std::chrono::milliseconds timeout);

  /// Waits for the exit without signalling.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// SIGKILL and reap (no-op when gone).
  void kill_hard();

  bool running();

private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

struct completed_run {
  int exit_code = -1; ///< -1 when killed after the timeout
  bool timed_out = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

/// Runs a program to completion, capturing stdout and stderr; kills it
/// after `timeout`.
completed_run run_to_completion(const spawn_options& opts,
                                std::chrono::milliseconds timeout);

} // namespace mesh
