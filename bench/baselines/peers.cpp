#include "bench/baselines/peers.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <optional>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/baselines/echo_baseline.hpp"
#include "bench/figures.hpp"
#include "node/os/child_process.hpp"
#include "protocol/status.hpp"

namespace mesh::bench {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct peer {
  std::string name;
  std::string what;
  /// Runs whenever another peer does (raw TCP: the limit beneath them all)
  /// rather than by its name.
  bool companion = false;
  /// Empty when the peer can run here, else why not.
  std::function<std::string(const bench_options&)> missing;
  std::function<caf::expected<json>(const bench_options&, size_t)> run;
};

/// `text` right-aligned in `width` columns.
std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text
                              : std::string(width - text.size(), ' ') + text;
}

/// The path of `program` on PATH, or empty.
std::string on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t from = 0;
  while (from <= dirs.size()) {
    auto to = std::min(dirs.find(':', from), dirs.size());
    auto candidate = dirs.substr(from, to - from) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    from = to + 1;
  }
  return {};
}

/// A port of 127.0.0.1 free a moment ago (Erlang's distribution is told
/// its port; it cannot report one the system picked).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0)
    ::close(fd);
  return port;
}

/// erl_echo.beam in the bin folder, compiled from the source once a run
/// (a failure is kept too: it is not tried again at every depth).
caf::error compile_erl_echo(const bench_options& opts) {
  static std::optional<caf::error> outcome;
  if (outcome)
    return *outcome;
  spawn_options so;
  so.argv = {on_path("erlc"), "-o", opts.bin_dir,
             std::string{MESH_SOURCE_DIR} + "/bench/baselines/erl_echo.erl"};
  auto r = run_to_completion(so, 60s);
  outcome = r.exit_code == 0 ? caf::error{}
                             : make_error(status_code::internal,
                                          "erlc failed: " + r.out + r.err);
  return *outcome;
}

/// Two BEAM nodes, no epmd: the server listens on a port given with
/// -erl_epmd_port, and the client, which does not listen, finds it there.
std::vector<std::string> erl_args(const bench_options& opts, int port,
                                  const std::string& name) {
  return {on_path("erl"), "-noinput", "-name", name + "@127.0.0.1",
          "-setcookie", "meshbench", "-start_epmd", "false",
          "-erl_epmd_port", std::to_string(port), "-pa", opts.bin_dir};
}

caf::expected<json> run_erlang(const bench_options& opts, size_t in_flight) {
  if (auto err = compile_erl_echo(opts))
    return err;
  auto port = free_port();
  if (port == 0)
    return make_error(status_code::unavailable,
                      "no free port on 127.0.0.1 for Erlang's distribution");
  auto tag = std::to_string(::getpid());
  spawn_options server;
  server.argv = erl_args(opts, port, "meshbench_srv_" + tag);
  server.argv.insert(server.argv.end(), {"-eval", "erl_echo:serve()"});
  server.pin_cpu = serving_cpu(opts);
  server.stderr_path = "/tmp/meshbench-erl-" + tag + ".log";
  auto child = child_process::spawn(server);
  if (!child)
    return child.error();
  auto line = child->read_line(30s); // the BEAM takes a second to start
  auto doc = json::parse(line.value_or(""), nullptr, false);
  if (doc.is_discarded() || !doc.contains("node")) {
    child->signal_and_wait(SIGTERM, 5s);
    std::ifstream log{server.stderr_path};
    std::string why{std::istreambuf_iterator<char>{log}, {}};
    std::remove(server.stderr_path.c_str());
    return make_error(status_code::unavailable,
                      "erl_echo did not start: " + why.substr(0, 400));
  }
  std::remove(server.stderr_path.c_str());
  auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  auto call = "erl_echo:client(["
              + quoted(doc["node"].get<std::string>()) + ", "
              + quoted(std::to_string(in_flight)) + ", "
              + quoted(std::to_string(opts.payload_bytes)) + ", "
              + quoted(std::to_string(opts.warmup.count())) + ", "
              + quoted(std::to_string(opts.duration.count())) + "])";
  spawn_options client;
  client.argv = erl_args(opts, port, "meshbench_cli_" + tag);
  client.argv.insert(client.argv.end(),
                     {"-dist_listen", "false", "-eval", call});
  client.pin_cpu = calling_cpu(opts);
  auto r = run_to_completion(client, opts.warmup + opts.duration + 60s);
  child->signal_and_wait(SIGTERM, 10s);
  auto result = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || result.is_discarded())
    return make_error(status_code::internal,
                      "erl_echo client failed: " + r.out + r.err);
  return result;
}

/// The bare gRPC C++ callback server (bench/grpc/) and grpc_bench's closed
/// loop against it alone: the seed's Dispatch, answered inline.
caf::expected<json> run_grpc(const bench_options& opts, size_t in_flight) {
  spawn_options server;
  server.argv = {opts.bin_dir + "/grpc_echo_server"};
  server.pin_cpu = serving_cpu(opts);
  auto child = child_process::spawn(server);
  if (!child)
    return child.error();
  auto line = child->read_line(10s);
  auto doc = json::parse(line.value_or(""), nullptr, false);
  if (doc.is_discarded() || !doc.contains("grpc"))
    return make_error(status_code::unavailable,
                      "grpc_echo_server did not start");
  auto file = "/tmp/meshbench-grpc-" + std::to_string(::getpid()) + ".json";
  spawn_options client;
  client.argv = {opts.bin_dir + "/grpc_bench",
                 "--target", "bare=" + doc["grpc"].get<std::string>(),
                 "--in-flight", std::to_string(in_flight),
                 "--repeat", "1",
                 "--payload-bytes", std::to_string(opts.payload_bytes),
                 "--warmup-ms", std::to_string(opts.warmup.count()),
                 "--measure-ms", std::to_string(opts.duration.count()),
                 "--json", file};
  client.pin_cpu = calling_cpu(opts);
  auto r = run_to_completion(client, opts.warmup + opts.duration + 30s);
  child->signal_and_wait(SIGTERM, 5s);
  std::ifstream in{file};
  auto out = json::parse(in, nullptr, false);
  std::remove(file.c_str());
  auto results = out.is_discarded() ? json{} : out.value("results", json{});
  if (r.exit_code != 0 || !results.is_array() || results.empty())
    return make_error(status_code::internal,
                      "grpc_bench failed: " + r.out + r.err);
  const auto& x = results[0];
  return json{{"requests_per_s", x.value("rps", 0.0)},
              {"p50_us", x.value("p50_us", 0.0)},
              {"p99_us", x.value("p99_us", 0.0)},
              {"mean_us", x.value("mean_us", 0.0)},
              {"failed", x.value("errors", 0)}};
}

/// Empty when every one of `programs` is in the bin folder, else which not.
std::string built(const bench_options& opts,
                  std::initializer_list<const char*> programs) {
  for (const char* program : programs) {
    auto path = opts.bin_dir + "/" + program;
    if (::access(path.c_str(), X_OK) != 0)
      return path + " was not built";
  }
  return {};
}

const std::vector<peer>& peers() {
  static const std::vector<peer> all{
    {"raw_tcp", "raw TCP ping-pong (tcp_echo)", true,
     [](const bench_options& opts) { return built(opts, {"tcp_echo"}); },
     run_raw_tcp},
    {"zeromq", "ZeroMQ 4.3 DEALER/ROUTER (zmq_echo)", false,
     [](const bench_options& opts) { return built(opts, {"zmq_echo"}); },
     [](const bench_options& opts, size_t n) {
       return run_echo_baseline(opts, "zmq_echo", n);
     }},
    {"erlang", "Erlang/OTP gen_server:call between two nodes (erl_echo.erl)",
     false,
     [](const bench_options&) {
       return on_path("erl").empty() || on_path("erlc").empty()
                ? std::string{"erl and erlc are not installed "
                              "(scripts/install-deps.sh --bench)"}
                : std::string{};
     },
     run_erlang},
    {"grpc", "gRPC C++ callback server (grpc_echo_server, grpc_bench)", false,
     [](const bench_options& opts) {
       return built(opts, {"grpc_echo_server", "grpc_bench"});
     },
     run_grpc},
  };
  return all;
}

} // namespace

std::vector<std::string> peer_names() {
  std::vector<std::string> names;
  for (const auto& p : peers())
    if (!p.companion)
      names.push_back(p.name);
  return names;
}

std::string unavailable_peers(const bench_options& opts) {
  std::string why;
  for (const auto& p : peers())
    if (!p.companion
        && std::find(opts.scenarios.begin(), opts.scenarios.end(), p.name)
             != opts.scenarios.end())
      if (auto missing = p.missing(opts); !missing.empty())
        why += (why.empty() ? "" : "; ") + p.name + ": " + missing;
  return why;
}

json run_peers(const bench_options& opts,
               const std::vector<mesh_run>& callers, int& failures) {
  auto named = [&opts](const std::string& name) {
    return std::find(opts.scenarios.begin(), opts.scenarios.end(), name)
           != opts.scenarios.end();
  };
  std::vector<const peer*> chosen;
  for (const auto& p : peers()) {
    if (p.companion || (!opts.scenarios.empty() && !named(p.name)))
      continue;
    if (auto why = p.missing(opts); !why.empty())
      std::cerr << "meshbench: " << p.name << " not measured: " << why
                << "\n"; // a full run goes on without it
    else
      chosen.push_back(&p);
  }
  json out = json::array();
  if (chosen.empty() || callers.empty())
    return out;
  chosen.insert(chosen.begin(), &peers().front()); // raw TCP beneath them
  // runs[i][0]: peer i's runs; runs[i][1 + k]: callers[k]'s beside them.
  using series = std::vector<std::vector<json>>;
  for (auto n : opts.in_flight) {
    // Nodes just started run slower at first: a run to warm them.
    if (auto warm = callers.front().run(n); !warm) {
      std::cerr << "meshbench: " << callers.front().name << " x" << n
                << ": " << mesh::error_text(warm.error()) << "\n";
      ++failures;
      continue;
    }
    // Round after round over every peer, each run with Mesh's beside it:
    // a pair shares the VM's state, and no peer gets only early rounds.
    std::vector<series> runs(chosen.size(),
                             series(1 + callers.size()));
    std::vector<bool> failed(chosen.size(), false);
    for (size_t r = 0; r < opts.repeat; ++r)
      for (size_t i = 0; i < chosen.size(); ++i) {
        if (failed[i])
          continue; // it failed in an earlier round: not tried again
        auto run = chosen[i]->run(opts, n);
        std::string error = run ? "" : mesh::error_text(run.error());
        std::vector<json> beside;
        for (size_t k = 0; k < callers.size() && error.empty(); ++k) {
          auto m = callers[k].run(n);
          if (!m)
            error = callers[k].name + " beside it: "
                    + mesh::error_text(m.error());
          else
            beside.push_back(*m);
        }
        if (!error.empty()) {
          std::cerr << "meshbench: " << chosen[i]->name << " x" << n << ": "
                    << error << "\n";
          failed[i] = true;
          ++failures;
          continue;
        }
        runs[i][0].push_back(*run);
        for (size_t k = 0; k < callers.size(); ++k)
          runs[i][1 + k].push_back(beside[k]);
      }
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (failed[i])
        continue;
      json entry{{"peer", chosen[i]->name},
                 {"what", chosen[i]->what},
                 {"in_flight", n},
                 {"result", median_run(runs[i][0])},
                 {"runs", runs[i][0]}};
      for (size_t k = 0; k < callers.size(); ++k) {
        const auto& name = callers[k].name;
        entry["mesh"][name] = median_run(runs[i][1 + k]);
        entry["mesh_runs"][name] = runs[i][1 + k];
        entry["mesh_vs_peer"][name] = pairwise(runs[i][1 + k], runs[i][0]);
      }
      out.push_back(std::move(entry));
    }
  }
  return out;
}

void print_peers(const json& report) {
  const auto& peers = report.value("peers", json::array());
  if (peers.empty())
    return;
  // Bare CAF joins the table: each scenario's baseline, measured beside it.
  json rows = peers;
  for (const auto& r : report.value("results", json::array()))
    if (r.value("scenario", std::string{}) == "remote") {
      json row{{"peer", "bare_caf"},
               {"in_flight", r["in_flight"]},
               {"result", r["baseline"]}};
      for (const auto& s : report["results"])
        if (s["in_flight"] == r["in_flight"]
            && (s["scenario"] == "remote"
                || s["scenario"] == "remote_nonblocking")) {
          auto name = s["scenario"].get<std::string>();
          row["mesh"][name] = s["mesh"];
          row["mesh_vs_peer"][name] =
            s["ratios"]["mesh_vs_baseline_pairwise"];
        }
      rows.push_back(std::move(row));
    }
  std::cout << "\nRemote dispatch against its peers, each peer run beside "
               "Mesh's (ratios: the median\nof same-round ratios; req/s "
               "above 1, p50 below 1: Mesh ahead; nonblocking: a\ncaller "
               "declared non-blocking, remote_nonblocking)\n"
            << std::setw(41) << "peer" << " |" << std::setw(20)
            << "Mesh remote" << " |   remote / peer | nonblocking / peer\n"
            << "peer                n      req/s   p50_us |      req/s   "
               "p50_us |   req/s     p50 |   req/s     p50\n";
  auto ratio = [](const json& row, const char* name) {
    const auto& r = row.value("mesh_vs_peer", json::object());
    if (!r.contains(name))
      return std::string{" |       -       -"};
    return " |" + pad(fmt(r[name].value("requests_per_s", 0.0), 3), 8)
           + pad(fmt(r[name].value("p50", 0.0), 2), 8);
  };
  for (const auto& p : rows) {
    const auto& peer = p["result"];
    auto mesh = p.value("mesh", json::object()).value("remote", json{});
    std::cout << std::left << std::setw(16) << p["peer"].get<std::string>()
              << std::right << std::setw(5) << p["in_flight"].get<size_t>()
              << std::setw(11) << fmt(peer.value("requests_per_s", 0.0), 0)
              << std::setw(9) << fmt(peer.value("p50_us", 0.0)) << " |"
              << std::setw(11) << fmt(mesh.value("requests_per_s", 0.0), 0)
              << std::setw(9) << fmt(mesh.value("p50_us", 0.0))
              << ratio(p, "remote") << ratio(p, "remote_nonblocking")
              << "\n";
  }
}

} // namespace mesh::bench
