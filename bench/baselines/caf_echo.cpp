// caf_echo: the bare-CAF baseline for meshbench. Same CAF settings, same
// payload size, same closed-loop driver as the Mesh scenarios, nothing else:
//   caf_echo local  ...              echo actor and driver in one process
//   caf_echo serve                   publish an echo actor; print {"port":N}
//   caf_echo relay --target H:P      publish an actor that delegates to H:P
//   caf_echo client --target H:P ... drive H:P; print the figures as JSON
// CAF settings: --policy, --threads, --middleman-workers, --heartbeat-ms.

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include "bench/load_driver.hpp"
#include "protocol/address.hpp"

namespace {

struct options {
  std::string mode, target, policy = "sharing";
  size_t threads = 2, middleman_workers = 0, in_flight = 1;
  size_t payload_bytes = 100;
  int64_t warmup_ms = 500, duration_ms = 2000, heartbeat_ms = 500;
};

caf::behavior echo(caf::event_based_actor*) {
  return {[](std::string& x) { return std::move(x); }};
}

caf::behavior relay(caf::event_based_actor* self, caf::actor server) {
  return {[=](std::string& x) {
    self->delegate(server, std::move(x));
  }};
}

void wait_for_termination() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int sig = 0;
  sigwait(&signals, &sig);
}

int publish_and_wait(caf::actor_system& sys, caf::actor a) {
  auto port = sys.middleman().publish(a, 0, "127.0.0.1", true);
  if (!port) {
    std::cerr << "caf_echo: cannot publish: " << sys.render(port.error())
              << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"port", *port}}.dump() << std::endl;
  wait_for_termination();
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}

caf::expected<caf::actor> connect(caf::actor_system& sys,
                                  const std::string& target) {
  std::string error;
  auto hp = mesh::parse_host_port(target, error);
  if (!hp)
    return caf::make_error(caf::sec::invalid_argument, error);
  return sys.middleman().remote_actor(hp->host, hp->port);
}

} // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  options o;
  CLI::App app{"caf_echo: bare-CAF baseline for meshbench"};
  app.add_option("mode", o.mode)->required()->check(
    CLI::IsMember({"local", "serve", "relay", "client"}));
  app.add_option("--target", o.target);
  app.add_option("--policy", o.policy);
  app.add_option("--threads", o.threads);
  app.add_option("--middleman-workers", o.middleman_workers);
  app.add_option("--heartbeat-ms", o.heartbeat_ms);
  app.add_option("--in-flight", o.in_flight);
  app.add_option("--payload-bytes", o.payload_bytes);
  app.add_option("--warmup-ms", o.warmup_ms);
  app.add_option("--duration-ms", o.duration_ms);
  CLI11_PARSE(app, argc, argv);
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.policy", caf::atom_from_string(o.policy));
  cfg.set("scheduler.max-threads", o.threads);
  cfg.set("middleman.workers", o.middleman_workers);
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::milliseconds{o.heartbeat_ms}});
  caf::actor_system sys{cfg};
  if (o.mode == "serve")
    return publish_and_wait(sys, sys.spawn(echo));
  if (o.mode == "relay") {
    auto server = connect(sys, o.target);
    if (!server) {
      std::cerr << "caf_echo: " << sys.render(server.error()) << "\n";
      return 1;
    }
    return publish_and_wait(sys, sys.spawn(relay, *server));
  }
  caf::actor target;
  if (o.mode == "local") {
    target = sys.spawn(echo);
  } else {
    auto server = connect(sys, o.target);
    if (!server) {
      std::cerr << "caf_echo: " << sys.render(server.error()) << "\n";
      return 1;
    }
    target = *server;
  }
  mesh::bench::load_spec spec;
  spec.in_flight = o.in_flight;
  spec.warmup = std::chrono::milliseconds{o.warmup_ms};
  spec.duration = std::chrono::milliseconds{o.duration_ms};
  std::string payload(o.payload_bytes, 'x');
  auto result = mesh::bench::run_closed_loop<std::string>(
    sys, target, spec, [&payload] { return payload; },
    [](const std::string&) { return std::string{}; });
  std::cout << result.to_json().dump() << std::endl;
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  return 0;
}
