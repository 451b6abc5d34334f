// bench_env's calls into the bench plug-in's load driver (bench/Driver on
// node A, or on the TLS, bypass and hedging callers): the driver runs the
// closed loop inside the node and answers its figures. Split from
// bench_env.cpp, which starts and stops the processes.

#include "bench/bench_env.hpp"

#include "protocol/status.hpp"

namespace mesh::bench {

caf::expected<nlohmann::json>
bench_env::drive_inside_hedge(const std::string& target, size_t in_flight) {
  if (!hedge_client_)
    if (auto err = start_hedge_nodes())
      return err;
  return call_driver(*hedge_client_, "Run", driver_args(target, in_flight));
}

caf::expected<nlohmann::json>
bench_env::drive_inside_bypass_a(const std::string& target, size_t in_flight) {
  if (!bypass_client_) {
    node_env_ = {"MESH_PIPELINE_BYPASS=1"};
    auto dir = manifests_dir_ + "/bypass";
    auto err = start_pair("-bypass", {"--data-dir", dir + "-a"},
                          {"--data-dir", dir + "-b"}, bypass_a_, bypass_b_,
                          bypass_client_);
    node_env_.clear();
    if (err)
      return err;
  }
  return call_driver(*bypass_client_, "Run", driver_args(target, in_flight));
}

caf::expected<nlohmann::json>
bench_env::drive_inside_tls_a(const std::string& target, size_t in_flight) {
  if (!tls_client_)
    if (auto err = start_tls_nodes())
      return err;
  return call_driver(*tls_client_, "Run", driver_args(target, in_flight));
}

nlohmann::json bench_env::driver_args(const std::string& target,
                                      size_t in_flight) const {
  return {{"target", target},
          {"in_flight", in_flight},
          {"warmup_ms", opts.warmup.count()},
          {"duration_ms", opts.duration.count()},
          {"payload_bytes", opts.payload_bytes}};
}

caf::expected<nlohmann::json>
bench_env::drive_inside_a(const std::string& target, size_t in_flight,
                          const nlohmann::json& options) {
  auto args = driver_args(target, in_flight);
  args.update(options);
  return call_driver("Run", std::move(args));
}

caf::expected<nlohmann::json>
bench_env::drive_process_inside_a(const std::string& process,
                                  size_t in_flight) {
  auto args = driver_args("", in_flight);
  args.erase("target");
  args["process"] = process;
  return call_driver("Process", std::move(args));
}

caf::expected<nlohmann::json>
bench_env::drive_publish_inside_a(const std::string& topic, size_t in_flight) {
  auto args = driver_args("", in_flight);
  args.erase("target");
  args["topic"] = topic;
  return call_driver("Publish", std::move(args));
}

caf::expected<nlohmann::json>
bench_env::call_driver(const std::string& method, nlohmann::json args) {
  return call_driver(*client_a_, method, std::move(args));
}

caf::expected<nlohmann::json>
bench_env::call_driver(console_client& client, const std::string& method,
                       nlohmann::json args) {
  auto budget = opts.warmup + opts.duration + std::chrono::seconds{30};
  auto r = client.call({{"cmd", "dispatch"},
                            {"namespace", "bench"},
                            {"service", "Driver"},
                            {"method", method},
                            {"deadline_ms", budget.count()},
                            {"payload", std::move(args)}},
                           budget);
  if (!r)
    return r.error();
  if (!r->value("ok", false))
    return make_error(status_code::internal,
                      "driver failed: " + r->value("error", r->dump()));
  return (*r)["result"]["payload"];
}

} // namespace mesh::bench
