#pragma once

// The peers issue 16 names, measured in the same meshbench run as Mesh's
// remote dispatch: ZeroMQ (zmq_echo, DEALER/ROUTER), Erlang/OTP
// (erl_echo.erl, gen_server:call over Erlang distribution) and gRPC
// (bench/grpc/: a C++ callback server, the seed's Dispatch). Beside raw TCP
// and bare CAF, which meshbench measures anyway, they make the table of
// ../shared/PERFORMANCE.md again in one run, with Mesh's ratio to each.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Runs each peer `opts.repeat` times at every in-flight depth when
/// `opts.scenarios` is empty (a full run) or names it ("zeromq",
/// "erlang", "grpc"). A peer that cannot run here (erl not installed) is skipped
/// with a note on stderr, or counted in `failures` when it was named.
/// Returns [{peer, what, in_flight, result (the median run), runs}].
nlohmann::json run_peers(const bench_options& opts, int& failures);

/// The names run_peers answers to in opts.scenarios.
std::vector<std::string> peer_names();

/// Adds to each of report["peers"] Mesh's ratios to it
/// ({remote, remote_nonblocking}: {requests_per_s, p50}), with raw TCP
/// (report["raw_tcp"]) and bare CAF (remote's baseline) as peers too, and
/// prints them as a table. Nothing when no peer was measured.
void report_peers(nlohmann::json& report);

} // namespace mesh::bench
