#include "bench/baselines/echo_baseline.hpp"

#include <csignal>

#include "node/os/child_process.hpp"
#include "protocol/status.hpp"

namespace mesh::bench {

caf::expected<nlohmann::json> run_echo_baseline(const bench_options& opts,
                                                const std::string& program,
                                                size_t in_flight) {
  auto path = opts.bin_dir + "/" + program;
  spawn_options server;
  server.argv = {path, "serve"};
  server.pin_cpu = serving_cpu(opts);
  auto child = child_process::spawn(server);
  if (!child)
    return child.error();
  auto line = child->read_line(std::chrono::seconds{10});
  auto doc = nlohmann::json::parse(line.value_or(""), nullptr, false);
  if (doc.is_discarded() || !doc.contains("port"))
    return make_error(status_code::unavailable, program + " did not start");
  spawn_options client;
  client.argv = {path, "client",
                 "--target",
                 "127.0.0.1:" + std::to_string(doc["port"].get<int>()),
                 "--in-flight", std::to_string(in_flight),
                 "--payload-bytes", std::to_string(opts.payload_bytes),
                 "--warmup-ms", std::to_string(opts.warmup.count()),
                 "--duration-ms", std::to_string(opts.duration.count())};
  client.pin_cpu = calling_cpu(opts);
  auto r = run_to_completion(client, opts.warmup + opts.duration
                                       + std::chrono::seconds{30});
  child->signal_and_wait(SIGTERM, std::chrono::seconds{5});
  auto result = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || result.is_discarded())
    return make_error(status_code::internal,
                      program + " client failed: " + r.err);
  return result;
}

} // namespace mesh::bench
