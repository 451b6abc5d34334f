#pragma once

// The peers issue 16 names, measured in the same meshbench run as Mesh's
// remote dispatch: ZeroMQ (zmq_echo, DEALER/ROUTER), Erlang/OTP
// (erl_echo.erl, gen_server:call over Erlang distribution) and gRPC
// (bench/grpc/: a C++ callback server, the seed's Dispatch), with raw TCP
// beneath them; with bare CAF (remote's own baseline) they make the table
// of ../shared/PERFORMANCE.md again in one run, with Mesh's ratio to each.

#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_env.hpp"

namespace mesh::bench {

/// Mesh's remote dispatch at a depth (a run of meshbench's `remote`).
using mesh_run = std::function<caf::expected<nlohmann::json>(size_t)>;

/// Runs each peer `opts.repeat` times at every in-flight depth when
/// `opts.scenarios` is empty (a full run) or names it ("zeromq",
/// "erlang", "grpc"; raw TCP whenever another peer runs), each run
/// followed by `remote` at the same depth, so
/// each pair shares the machine's state of the moment. A peer that cannot
/// run here (erl not installed) is skipped with a note on stderr, or
/// counted in `failures` when it was named. Returns [{peer, what,
/// in_flight, result and mesh (the median runs), runs, mesh_runs,
/// mesh_vs_peer (the same-round medians: requests_per_s, p50)}].
nlohmann::json run_peers(const bench_options& opts, const mesh_run& remote,
                         int& failures);

/// The names run_peers answers to in opts.scenarios.
std::vector<std::string> peer_names();

/// Adds bare CAF (remote's baseline and its same-round ratios, from
/// report["results"]) to report["peers"] and prints them all as a table.
/// Nothing when no peer was measured.
void report_peers(nlohmann::json& report);

} // namespace mesh::bench
