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

/// A Mesh measurement at a depth (a run of one of meshbench's scenarios).
struct mesh_run {
  std::string name; ///< the scenario's
  std::function<caf::expected<nlohmann::json>(size_t)> run;
};

/// Runs the peers when `opts.scenarios` is empty (a full run: a peer that
/// cannot run here, Erlang not installed, is skipped with a note) or names
/// them ("zeromq", "erlang", "grpc"), with raw TCP beneath them whenever
/// one runs. At each depth: one run of callers[0] to warm the nodes, then
/// `opts.repeat` rounds over the peers, each peer run followed at once by
/// a run of each of `callers` (a pair shares the machine's state). Returns
/// [{peer, what, in_flight, result (the median run), runs, and by Mesh
/// scenario name: mesh (the median runs), mesh_runs, mesh_vs_peer (median
/// of the same-round ratios: requests_per_s, p50, requests_per_s_min,
/// requests_per_s_max, pairs)}].
nlohmann::json run_peers(const bench_options& opts,
                         const std::vector<mesh_run>& callers,
                         int& failures);

/// The names run_peers answers to in opts.scenarios.
std::vector<std::string> peer_names();

/// Why peers named in opts.scenarios cannot run here (empty: they can).
std::string unavailable_peers(const bench_options& opts);

/// Prints report["peers"] as a table (Mesh's `remote` and
/// `remote_nonblocking` against each), with bare CAF (those scenarios'
/// baselines and same-round ratios, from report["results"]). Nothing
/// without peers.
void print_peers(const nlohmann::json& report);

} // namespace mesh::bench
