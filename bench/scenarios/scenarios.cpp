#include "bench/scenarios/scenarios.hpp"

#include <google/protobuf/wrappers.pb.h>

#include "bench/client_driver.hpp"
#include "bench/load_driver.hpp"
#include "protocol/service_key.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh::bench {

namespace {

std::vector<std::string> load_flags(const bench_env& env, size_t in_flight) {
  return {"--in-flight", std::to_string(in_flight),
          "--warmup-ms", std::to_string(env.opts.warmup.count()),
          "--duration-ms", std::to_string(env.opts.duration.count()),
          "--payload-bytes", std::to_string(env.opts.payload_bytes)};
}

caf::expected<nlohmann::json> caf_client(bench_env& env,
                                         const std::string& target,
                                         size_t in_flight) {
  std::vector<std::string> args{"client", "--target", target};
  auto flags = load_flags(env, in_flight);
  args.insert(args.end(), flags.begin(), flags.end());
  auto result = env.run_caf_echo(args);
  env.stop_caf_servers();
  return result;
}

// Two processes: a caller actor -> a remote echo actor, one round trip.
caf::expected<nlohmann::json> remote_baseline(bench_env& env, size_t n) {
  auto server = env.start_caf_server({"serve"});
  if (!server)
    return server.error();
  return caf_client(env, *server, n);
}

// Process dispatch of `process` (whose variants are bench/Local/Echo)
// against plain dispatch of the same handler, in the same run.
scenario process_scenario(std::string name, const std::string& strategy,
                          std::string process) {
  return {std::move(name),
          "caller on A -> strategy evaluator (" + strategy
            + ") -> router -> local echo",
          "plain dispatch of the same handler: caller on A -> router -> "
          "local echo",
          [process](bench_env& env, size_t n) {
            return env.drive_process_inside_a(process, n);
          },
          [](bench_env& env, size_t n) {
            return env.drive_inside_a("bench/Local/Echo", n,
                                      {{"prebuilt", true}});
          }};
}

} // namespace

const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all{
    {"local",
     "caller on node A -> A's router -> local echo handler",
     "one process: caller actor -> echo actor",
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("bench/Local/Echo", n);
     },
     [](bench_env& env, size_t n) {
       std::vector<std::string> args{"local"};
       auto flags = load_flags(env, n);
       args.insert(args.end(), flags.begin(), flags.end());
       return env.run_caf_echo(args);
     }},
    {"remote",
     "caller on node A -> A's router -> B's router -> echo handler on B",
     "two processes: caller actor -> remote echo actor",
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("echo/EchoService/Echo", n);
     },
     remote_baseline},
    // The same with the caller declared non-blocking: answers from B run it
    // on A's data-plane thread, no CAF worker woken (non_blocking_callers).
    {"remote_nonblocking",
     "caller on node A, declared non-blocking -> A's router -> B's router "
     "-> echo handler on B",
     "two processes: caller actor -> remote echo actor",
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("echo/EchoService/Echo", n,
                                 {{"non_blocking", true}});
     },
     remote_baseline},
    {"client",
     "client process -> node A's router -> echo handler on node B",
     "three processes: client -> relay actor -> remote echo actor",
     outside_client,
     [](bench_env& env, size_t n) -> caf::expected<nlohmann::json> {
       auto server = env.start_caf_server({"serve"});
       if (!server)
         return server.error();
       auto relay = env.start_caf_server({"relay", "--target", *server});
       if (!relay)
         return relay.error();
       return caf_client(env, *relay, n);
     }},
    // Remote dispatch over mutual TLS against the same over plaintext: what
    // TLS costs. The baseline is Mesh itself here, not bare CAF.
    {"remote_tls",
     "caller on A' -> A''s router -> B''s router over mutual TLS -> echo on B'",
     "the same path over plaintext (Mesh remote dispatch, nodes A and B)",
     [](bench_env& env, size_t n) {
       return env.drive_inside_tls_a("echo/EchoService/Echo", n);
     },
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("echo/EchoService/Echo", n);
     }},
    // The dispatch pipeline (default policy, no hooks) against the same
    // build with it bypassed (nodes A" and B" under MESH_PIPELINE_BYPASS=1):
    // what directives, policy, context, hooks and the explanation cost.
    {"pipeline_local",
     "local dispatch on node A through the pipeline (default policy)",
     "the same on node A\" with the pipeline bypassed",
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("bench/Local/Echo", n);
     },
     [](bench_env& env, size_t n) {
       return env.drive_inside_bypass_a("bench/Local/Echo", n);
     }},
    {"pipeline_remote",
     "remote dispatch A -> B through the pipeline (default policy)",
     "the same A\" -> B\" with the pipeline bypassed",
     [](bench_env& env, size_t n) {
       return env.drive_inside_a("echo/EchoService/Echo", n);
     },
     [](bench_env& env, size_t n) {
       return env.drive_inside_bypass_a("echo/EchoService/Echo", n);
     }},
    // Hedging after the peer's recent p95 against a fixed 5 ms delay, on
    // two servers whose echo has a slow tail (2 % take 20 ms). The
    // baseline is Mesh with the fixed delay, not bare CAF.
    {"hedge_adaptive",
     "caller H -> S1 or S2 (2 % slow), hedged after the peer's p95",
     "the same, hedged after a fixed 5 ms",
     [](bench_env& env, size_t n) {
       return env.drive_inside_hedge("tailadapt/Tail/Echo", n);
     },
     [](bench_env& env, size_t n) {
       return env.drive_inside_hedge("tailfixed/Tail/Echo", n);
     }},
    // Process dispatch against plain dispatch of the same handler: what
    // the strategy evaluator (schema check, decision, log, one more actor
    // hop) costs. The baseline is Mesh itself here, not bare CAF.
    process_scenario("process_rollout", "percentage_rollout", "bench_rollout"),
    process_scenario("process_bandit", "thompson_bandit", "bench_bandit"),
    // Publish with fan-out to 4 record dispatchers, 2 on A and 2 on B: the
    // local ones run in A's topic dispatcher, B's part is one round trip.
    {"publish",
     "caller on A -> A's topic dispatcher -> 2 dispatchers on A + B's topic "
     "dispatcher (2 dispatchers) -> aggregated result",
     "two processes: caller actor -> remote echo actor (the one round trip "
     "a publish needs)",
     [](bench_env& env, size_t n) {
       return env.drive_publish_inside_a("bench.fanout.orders", n);
     },
     remote_baseline},
  };
  return all;
}

} // namespace mesh::bench
