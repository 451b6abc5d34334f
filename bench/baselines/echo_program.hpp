#pragma once

// What meshbench's two-mode echo baselines share (tcp_echo, zmq_echo: see
// echo_baseline.hpp): their options, the stop flag SIGTERM sets, the
// command line, and the client's last words.
//   PROGRAM serve                   print {"port":N}; echo until SIGTERM
//   PROGRAM client --target H:P ... closed loop with --in-flight messages
//                                   of --payload-bytes; print the figures
//                                   as JSON (the load driver's fields)

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "bench/load_driver.hpp"

namespace mesh::bench {

struct echo_options {
  std::string mode, target;
  size_t in_flight = 1, payload_bytes = 100;
  int64_t warmup_ms = 500, duration_ms = 2000;
};

/// Set by SIGTERM and SIGINT (installed without SA_RESTART, so a blocking
/// accept or receive returns EINTR and the loop looks at it).
inline std::atomic<bool> echo_stop{false};

/// Parses the command line, installs the signal handlers and runs
/// `serve()` or `client(options)`; the process's exit code.
template <class Serve, class Client>
int run_echo_program(int argc, char** argv, const std::string& title,
                     Serve serve, Client client) {
  echo_options o;
  CLI::App app{title};
  app.add_option("mode", o.mode)->required()->check(
    CLI::IsMember({"serve", "client"}));
  app.add_option("--target", o.target);
  app.add_option("--in-flight", o.in_flight)->check(CLI::Range(1, 100000));
  app.add_option("--payload-bytes", o.payload_bytes)
    ->check(CLI::Range(1, 1 << 20));
  app.add_option("--warmup-ms", o.warmup_ms);
  app.add_option("--duration-ms", o.duration_ms);
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa{};
  sa.sa_handler = [](int) { echo_stop = true; };
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return o.mode == "serve" ? serve() : client(o);
}

/// Prints a client's figures over its measured period; its exit code.
inline int print_echo_result(load_result& result, const echo_options& o) {
  result.seconds = std::chrono::duration<double>(
                     std::chrono::milliseconds{o.duration_ms})
                     .count();
  std::cout << result.to_json().dump() << std::endl;
  return result.first_error.empty() ? 0 : 1;
}

} // namespace mesh::bench
