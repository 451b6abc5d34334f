// meshnode: runs one Mesh node until SIGINT or SIGTERM (or `meshctl leave`).
//
// Configuration: the embedded default, overlaid by --config FILE, overlaid by
// flags; the cluster secret may come from MESH_CLUSTER_SECRET instead. On start it prints exactly one JSON line to stdout:
//   {"event":"ready","id":...,"listen":"HOST:PORT","console":"HOST:PORT",
//    "http":"HOST:PORT","grpc":"HOST:PORT","data_plane":"HOST:PORT"}
//   (each only when it is on)
// Logs go to stderr. A bad configuration prints what and where, exit code 2
// (a definition folder that is missing too); a failure to start (port in use,
// broken plug-in), exit code 1. --check-config runs every check of a start
// (node/check/config_check.hpp) and prints the effective configuration, secrets
// as "***".

#include <csignal>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cluster/security/tls_files.hpp"
#include "config/config_redact.hpp"
#include "config/node_config.hpp"
#include "node/check/config_check.hpp"
#include "node/node.hpp"
#include "node/os/allocator.hpp"
#include "node/os/open_files.hpp"
#include "node/os/sd_notify.hpp"
#include "protocol/status.hpp"
#include "protocol/version.hpp"
#include "telemetry/log.hpp"

namespace {

struct flags {
  std::string config_file;
  nlohmann::json layer = nlohmann::json::object();
  bool print_default = false;
  bool check_only = false;
};

// Each flag writes into a JSON layer that is validated like a config file.
void add_flags(CLI::App& app, flags& f) {
  app.add_option("--config", f.config_file, "JSON configuration file");
  auto& layer = f.layer;
  auto string_flag = [&](const char* name, const char* key, const char* help) {
    app.add_option_function<std::string>(
      name, [&layer, key](const std::string& v) { layer[key] = v; }, help);
  };
  string_flag("--id", "id", "node id (default: <hostname>-<listen port>)");
  string_flag("--listen", "listen", "peer listener host:port (port 0: any)");
  app.add_option_function<std::string>(
    "--console",
    [&layer](const std::string& v) { layer["console"]["listen"] = v; },
    "console host:port for CAF clients (meshbench; meshctl uses --http)");
  string_flag("--http", "http",
              "HTTP API host:port for meshctl, curl, the dashboard and "
              "/metrics (port 0: any)");
  app.add_option_function<std::string>(
    "--grpc",
    [&layer](const std::string& v) { layer["grpc"]["listen"] = v; },
    "gRPC front door host:port: the seed's CollectiveDispatcher and "
    "mesh.v1.Mesh (port 0: any)");
  app.add_option_function<std::string>(
    "--console-token-file",
    [&layer](const std::string& v) { layer["console"]["token_file"] = v; },
    "file holding the token every console command must carry "
    "(or MESH_CONSOLE_TOKEN)");
  auto tls_flag = [&](const char* name, const char* key, const char* help) {
    app.add_option_function<std::string>(
      name, [&layer, key](const std::string& v) {
        layer["cluster"]["tls"][key] = v;
      }, help);
  };
  tls_flag("--tls-certificate", "certificate",
           "PEM certificate of this node (mutual TLS between nodes)");
  tls_flag("--tls-key", "key", "PEM private key of the certificate");
  tls_flag("--tls-ca", "ca", "PEM certificate of the CA that signs members");
  string_flag("--manifests", "manifests",
              "folder of process manifests (SIGHUP reloads them)");
  string_flag("--jobs", "jobs",
              "folder of job definitions for durable tasks (SIGHUP reloads them)");
  string_flag("--workflows", "workflows",
              "folder of workflow definitions (SIGHUP reloads them)");
  app.add_option_function<std::string>(
       "--tasks-sync",
       [&layer](const std::string& v) { layer["tasks"]["synchronous"] = v; },
       "task store durability: full (default), normal or off")
    ->check(CLI::IsMember({"full", "normal", "off"}));
  string_flag("--data-dir", "data_dir",
              "folder for the node's state (default: mesh-data)");
  string_flag("--log-level", "log_level",
              "trace, debug, info, warn, error, critical or off");
  app.add_option_function<std::string>(
       "--log-format",
       [&layer](const std::string& v) { layer["log_format"] = v; },
       "text (default) or json: one JSON object per line with the node id")
    ->check(CLI::IsMember({"text", "json"}));
  app.add_option_function<std::string>(
    "--namespaces",
    [&layer](const std::string& v) {
      auto list = nlohmann::json::array();
      for (auto& part : CLI::detail::split(v, ','))
        if (!part.empty())
          list.push_back(part);
      layer["namespaces"] = list;
    },
    "comma-separated namespaces to serve (default: those of the handlers)");
  app.add_option_function<std::string>(
    "--handlers",
    [&layer](const std::string& v) {
      auto list = nlohmann::json::array();
      for (auto& part : CLI::detail::split(v, ','))
        if (!part.empty())
          list.push_back(part);
      layer["handlers"] = list;
    },
    "comma-separated handlers to serve: ns, ns/Service or ns/Service/Method "
    "(default: every handler the plug-ins register)");
  app.add_option_function<std::vector<std::string>>(
    "--plugin",
    [&layer](const std::vector<std::string>& v) { layer["plugins"] = v; },
    "handler plug-in to load (repeatable; replaces the configured list)");
  app.add_option_function<std::vector<std::string>>(
    "--allow",
    [&layer](const std::vector<std::string>& v) {
      layer["registry_validator"] = {{"allow", v}};
    },
    "registry allow-list pattern namespace/Service/Method, * allowed "
    "(repeatable)");
  app.add_option_function<std::string>(
    "--seeds",
    [&layer](const std::string& v) {
      auto list = nlohmann::json::array();
      for (auto& part : CLI::detail::split(v, ','))
        if (!part.empty())
          list.push_back(part);
      layer["cluster"]["seeds"] = list;
    },
    "comma-separated host:port of peers to join");
  app.add_option_function<std::string>(
    "--load-balancing",
    [&layer](const std::string& v) { layer["cluster"]["load_balancing"] = v; },
    "round_robin, least_in_flight or random");
  app.add_option_function<int64_t>(
    "--heartbeat-interval-ms",
    [&layer](int64_t v) { layer["cluster"]["heartbeat_interval_ms"] = v; },
    "how often peers exchange heartbeats");
  app.add_option_function<int64_t>(
    "--heartbeat-misses",
    [&layer](int64_t v) { layer["cluster"]["heartbeat_misses"] = v; },
    "missed heartbeats before a peer is down");
  auto limit_flag = [&](const char* name, const char* key, const char* help) {
    app.add_option_function<int64_t>(
      name, [&layer, key](int64_t v) { layer["limits"][key] = v; }, help);
  };
  limit_flag("--max-payload-bytes", "max_payload_bytes",
             "largest request payload accepted");
  limit_flag("--default-deadline-ms", "default_deadline_ms",
             "deadline of requests that set none");
  limit_flag("--max-concurrency", "max_concurrency",
             "handler calls running at once, per handler");
  limit_flag("--max-queue", "max_queue", "calls waiting, per handler");
  limit_flag("--shutdown-grace-ms", "shutdown_grace_ms",
             "how long shutdown waits for in-flight requests");
  app.add_flag("--print-default-config", f.print_default,
               "print the embedded default configuration and exit");
  app.add_flag("--check-config", f.check_only,
               "validate the configuration and exit");
}

int config_error(const std::string& text) {
  std::cerr << "meshnode: configuration error: " << text << "\n";
  return 2;
}

int config_error(const std::vector<mesh::config_problem>& problems) {
  std::vector<std::string> lines;
  for (const auto& p : problems)
    lines.push_back(mesh::to_string(p));
  return config_error(CLI::detail::join(lines, "\n  "));
}

} // namespace

int main(int argc, char** argv) {
  // Block the signals we wait for before any thread starts, so every thread
  // inherits the mask and sigwait below is the only receiver.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"meshnode: one node of a Mesh cluster"};
  app.set_version_flag("--version",
                       std::string{"meshnode "} + mesh::mesh_version
                         + "\nallocator: " + mesh::allocator_name(),
                       "print meshnode's version (and its allocator) and exit");
  flags f;
  add_flags(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any malformed flag is a configuration error.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (f.print_default) {
    std::cout << mesh::default_node_config_json().dump(2) << "\n";
    return 0;
  }
  auto doc = mesh::default_node_config_json();
  // Where each value came from, for the problems found after the merge.
  std::vector<mesh::config_layer> layers{{"default", doc}};
  if (!f.config_file.empty()) {
    auto file = mesh::read_json_file(f.config_file);
    if (!file)
      return config_error(mesh::error_text(file.error()));
    auto problems = mesh::check_config_layer(*file, f.config_file);
    if (!problems.empty())
      return config_error(CLI::detail::join(problems, "\n  "));
    mesh::normalize_layer(*file);
    mesh::merge_json(doc, *file);
    layers.push_back({f.config_file, *file});
  }
  auto problems = mesh::check_config_layer(f.layer, "command line");
  if (!problems.empty())
    return config_error(CLI::detail::join(problems, "\n  "));
  mesh::normalize_layer(f.layer);
  mesh::merge_json(doc, f.layer);
  layers.push_back({"command line", f.layer});
  auto cfg = mesh::to_node_config(doc);
  if (!cfg) {
    // One line per problem, each naming where it is.
    auto where = f.config_file.empty() ? "command line" : f.config_file;
    std::string text, line;
    std::istringstream lines{mesh::error_text(cfg.error())};
    while (std::getline(lines, line))
      text += (text.empty() ? "" : "\n  ") + where + ": " + line;
    return config_error(text);
  }
  cfg->source_file = f.config_file;
  mesh::apply_secret_from_environment(*cfg);
  if (f.check_only) {
    // Everything the start would check, and nothing started; secrets are
    // checked, never printed.
    if (auto found = mesh::check_node_start(*cfg, layers); !found.empty())
      return config_error(found);
    std::cout << mesh::redact_config(doc, *cfg).dump(2) << "\n";
    return 0;
  }
  // A definition folder that is not there is a configuration error too.
  if (auto found = mesh::check_node_folders(*cfg, layers); !found.empty())
    return config_error(found);
  if (auto why = mesh::check_console_exposure(*cfg); !why.empty())
    return config_error(why);
  if (auto why = mesh::check_tls_files(cfg->cluster.tls.certificate,
                                       cfg->cluster.tls.key,
                                       cfg->cluster.tls.ca,
                                       cfg->cluster.tls.passphrase);
      !why.empty())
    return config_error("/cluster/tls: " + why);
  mesh::log::init(cfg->log_level, cfg->log_format);
  // CAF's actors print to std::cout (an unexpected message): into the log.
  mesh::log::capture_stdout();
  // Before the node opens its ports and stores (os/open_files.hpp).
  auto files = mesh::raise_open_files_limit();
  auto n = mesh::node::start(*cfg);
  if (!n) {
    std::cerr << "meshnode: cannot start: "
              << mesh::error_text(n.error()) << "\n";
    return 1;
  }
  auto& node = **n;
  // After the start: the node's id is in every log line from there on.
  mesh::log::get("node")->info("allocating with {}", mesh::allocator_name());
  if (!files.error.empty())
    mesh::log::get("node")->warn("{}", files.error);
  else if (files.after != files.before)
    mesh::log::get("node")->info("open files limit raised from {} to {}",
                                 files.before, files.after);
  node.on_leave_request([] { ::kill(::getpid(), SIGTERM); });
  nlohmann::json ready{{"event", "ready"},
                       {"id", node.id()},
                       {"listen", mesh::to_string(node.listen_address())},
                       {"console", mesh::to_string(node.console_address())}};
  if (auto http = node.http_address(); !http.empty())
    ready["http"] = http;
  if (auto grpc = node.grpc_address(); !grpc.empty())
    ready["grpc"] = grpc;
  if (auto data = node.data_plane_address(); !data.empty())
    ready["data_plane"] = data;
  mesh::log::write_stdout(ready.dump());
  // stdout carries the ready line and nothing else: whatever CAF's own
  // actors print later (they print unexpected messages) goes to the log.
  std::fflush(stdout);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  // Under systemd (Type=notify): ready once the ready line is out.
  if (auto why = mesh::notify_service_manager("READY=1"); !why.empty())
    mesh::log::get("node")->warn("{}", why);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0)
      continue;
    if (sig == SIGHUP) {
      node.reload_manifests();
      node.reload_policies();
      if (node.tasks())
        node.reload_jobs();
      if (node.workflows())
        node.reload_workflows();
      continue;
    }
    break;
  }
  mesh::notify_service_manager("STOPPING=1"); // best effort: we are leaving
  node.shutdown();
  int code = 0;
  if (auto why = node.failure(); !why.empty()) {
    std::cerr << "meshnode: " << why << "\n";
    code = 70; // EX_SOFTWARE: restart me
  }
  if (node.handlers_left_running()) {
    // Handler threads still run: the process's globals must not be torn
    // down under them (nor a leak check stop them mid-call, which crashed
    // LeakSanitizer's tracer under the sanitizers). Logs are flushed first.
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) {
      l->flush();
    });
    std::fflush(nullptr);
    std::_Exit(code);
  }
  return code;
}
