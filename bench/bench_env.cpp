#include "bench/bench_env.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include <caf/actor_system_config.hpp>

#include "protocol/status.hpp"

namespace mesh::bench {

namespace {

constexpr auto start_timeout = std::chrono::seconds{30};

// The process scenarios' manifests: both variants are the local echo
// handler, so a process dispatch differs from a plain one only by the
// strategy evaluator's work.
nlohmann::json bench_manifest(const std::string& strategy,
                              nlohmann::json args) {
  return {{"description", "meshbench: " + strategy},
          {"owner", "meshbench"},
          {"input_schema", {{"type", "object"}}},
          {"strategy", {{"path", strategy}, {"args", std::move(args)}}},
          {"variants",
           {{{"id", "a"}, {"path", "bench/Local/Echo"}, {"weight", 0.5}},
            {{"id", "b"}, {"path", "bench/Local/Echo"}, {"weight", 0.5}}}}};
}

// Two record dispatchers per node on "bench.fanout.>": a publish there runs
// two here and two on the peer.
nlohmann::json bench_topics() {
  auto dispatchers = nlohmann::json::array();
  auto routes = nlohmann::json::array();
  for (const char* id : {"bench-rec-1", "bench-rec-2"}) {
    dispatchers.push_back(
      {{"id", id}, {"kind", "record"}, {"category", "event"}, {"keep", 16}});
    routes.push_back({{"id", std::string{id} + "-route"},
                      {"pattern", "bench.fanout.>"},
                      {"category", "event"},
                      {"dispatcher", id}});
  }
  return {{"dispatchers", dispatchers}, {"routes", routes}};
}

} // namespace

bench_env::~bench_env() {
  stop_caf_servers();
  client_a_.reset();
  tls_client_.reset();
  bypass_client_.reset();
  hedge_client_.reset();
  for (auto* n : {&node_a_, &node_b_, &tls_a_, &tls_b_, &bypass_a_,
                  &bypass_b_, &hedge_h_, &hedge_s1_, &hedge_s2_})
    n->signal_and_wait(SIGTERM, std::chrono::seconds{10});
  if (!tls_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tls_dir_, ec);
  }
  if (!config_path_.empty())
    ::unlink(config_path_.c_str());
  if (!manifests_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(manifests_dir_, ec);
  }
}

std::vector<std::string> bench_env::caf_flags() const {
  return {"--policy", opts.policy,
          "--threads", std::to_string(opts.threads),
          "--middleman-workers", std::to_string(opts.middleman_workers),
          "--heartbeat-ms", std::to_string(opts.heartbeat_ms)};
}

void bench_env::configure(caf::actor_system_config& cfg) const {
  cfg.set("scheduler.policy", caf::atom_from_string(opts.policy));
  cfg.set("scheduler.max-threads", opts.threads);
  cfg.set("middleman.workers", opts.middleman_workers);
}

caf::expected<child_process>
bench_env::start_node(const std::vector<std::string>& args,
                      nlohmann::json& ready, const std::string& config,
                      bool calling) {
  spawn_options so;
  so.argv = {opts.bin_dir + "/meshnode", "--config",
             config.empty() ? config_path_ : config,
             "--log-level", "warn"};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.pin_cpu = calling ? calling_cpu(opts) : serving_cpu(opts);
  so.env = node_env_;
  auto child = child_process::spawn(so);
  if (!child)
    return child.error();
  auto line = child->read_line(start_timeout);
  ready = nlohmann::json::parse(line.value_or(""), nullptr, false);
  if (ready.is_discarded() || ready.value("event", "") != "ready")
    return make_error(status_code::unavailable,
                      "meshnode did not start: " + line.value_or("(nothing)"));
  return child;
}

caf::error bench_env::start_nodes() {
  char path[] = "/tmp/meshbench-config-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    return make_error(status_code::internal, "cannot create a temp file");
  ::close(fd);
  config_path_ = path;
  nlohmann::json cfg{
    {"listen", "127.0.0.1:0"},
    {"console", "127.0.0.1:0"},
    {"http", "127.0.0.1:0"}, // never the default 7422 a real node may hold
    {"scheduler",
     {{"policy", opts.policy},
      {"max_threads", opts.threads},
      {"middleman_workers", opts.middleman_workers},
      {"worker_spin_us", opts.worker_spin_us}}},
    {"cluster",
     {{"heartbeat_interval_ms", opts.heartbeat_ms},
      {"data_plane", opts.data_plane},
      {"serve_chunk", opts.serve_chunk},
      {"serve_chunk_adaptive", opts.serve_chunk_adaptive},
      {"data_plane_spin_us", opts.plane_spin_us}}},
    {"topics", bench_topics()}};
  std::ofstream{config_path_} << cfg.dump();
  char dir[] = "/tmp/meshbench-manifests-XXXXXX";
  if (::mkdtemp(dir) == nullptr)
    return make_error(status_code::internal, "cannot create a temp folder");
  manifests_dir_ = dir;
  std::ofstream{manifests_dir_ + "/bench_rollout.json"}
    << bench_manifest("percentage_rollout", {{"bucketing_key", "user_id"}});
  std::ofstream{manifests_dir_ + "/bench_bandit.json"}
    << bench_manifest("thompson_bandit", {{"floor", 0.05}});
  return start_pair("", {"--manifests", manifests_dir_, "--data-dir",
                         manifests_dir_ + "/data"},
                    {}, node_a_, node_b_, client_a_);
}

caf::error bench_env::start_pair(const std::string& suffix,
                                 const std::vector<std::string>& extra_a,
                                 const std::vector<std::string>& extra_b,
                                 child_process& a, child_process& b,
                                 std::unique_ptr<console_client>& client) {
  nlohmann::json ready_b, ready_a;
  std::vector<std::string> args_b{"--id", "bench-b" + suffix, "--namespaces",
                                  "echo", "--plugin",
                                  opts.bin_dir + "/libmesh_example_handlers.so"};
  args_b.insert(args_b.end(), extra_b.begin(), extra_b.end());
  auto cb = start_node(args_b, ready_b);
  if (!cb)
    return cb.error();
  b = std::move(*cb);
  std::vector<std::string> args_a{"--id", "bench-a" + suffix, "--namespaces",
                                  "bench,echo", "--plugin",
                                  opts.bin_dir + "/libmesh_bench_plugin.so",
                                  "--seeds",
                                  ready_b["listen"].get<std::string>()};
  args_a.insert(args_a.end(), extra_a.begin(), extra_a.end());
  auto ca = start_node(args_a, ready_a, {}, true);
  if (!ca)
    return ca.error();
  a = std::move(*ca);
  auto c = console_client::connect(
    ready_a["console"].get<std::string>(),
    [this](caf::actor_system_config& cfg) { configure(cfg); });
  if (!c)
    return c.error();
  client = std::move(*c);
  // Wait until A routes to B: a real round trip each time round.
  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client->call({{"cmd", "dispatch"},
                           {"namespace", "echo"},
                           {"service", "EchoService"},
                           {"method", "Echo"}},
                          std::chrono::seconds{5});
    auto result = r ? r->value("result", nlohmann::json::object())
                    : nlohmann::json::object();
    if (result.value("handled_by", "") == "bench-b" + suffix)
      return caf::none;
  }
  return make_error(status_code::unavailable,
                    "node A" + suffix + " never reached node B" + suffix);
}

caf::error bench_env::start_tls_nodes() {
  char dir[] = "/tmp/meshbench-tls-XXXXXX";
  if (::mkdtemp(dir) == nullptr)
    return make_error(status_code::internal, "cannot create a temp folder");
  tls_dir_ = dir;
  spawn_options so;
  so.argv = {"/bin/bash", std::string{MESH_SOURCE_DIR}
                            + "/examples/tls/make-certs.sh",
             tls_dir_, "a", "b"};
  auto r = run_to_completion(so, std::chrono::seconds{60});
  if (r.exit_code != 0)
    return make_error(status_code::internal,
                      "make-certs.sh failed: " + r.err);
  auto tls = [this](const std::string& who) {
    return std::vector<std::string>{
      "--tls-certificate", tls_dir_ + "/" + who + ".pem",
      "--tls-key", tls_dir_ + "/" + who + ".key",
      "--tls-ca", tls_dir_ + "/ca.pem",
      "--data-dir", tls_dir_ + "/data-" + who};
  };
  return start_pair("-tls", tls("a"), tls("b"), tls_a_, tls_b_, tls_client_);
}

caf::error bench_env::start_hedge_nodes() {
  auto dir = manifests_dir_ + "/hedge";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto plugin = opts.bin_dir + "/libmesh_bench_plugin.so";
  nlohmann::json ready;
  node_env_ = {"MESH_BENCH_TAIL=1"};
  std::vector<std::string> seeds;
  for (auto [id, child] : {std::pair{"bench-s1", &hedge_s1_},
                           std::pair{"bench-s2", &hedge_s2_}}) {
    std::vector<std::string> args{"--id", id, "--namespaces",
                                  "tailfixed,tailadapt", "--plugin", plugin,
                                  "--data-dir", dir + "/" + id};
    if (!seeds.empty())
      args.insert(args.end(), {"--seeds", seeds.front()});
    auto c = start_node(args, ready);
    if (!c) {
      node_env_.clear();
      return c.error();
    }
    *child = std::move(*c);
    seeds.push_back(ready["listen"].get<std::string>());
  }
  node_env_.clear();
  // The caller: the bench settings plus the two hedging policies.
  std::ifstream in{config_path_};
  auto cfg = nlohmann::json::parse(in, nullptr, false);
  cfg["policies"] = nlohmann::json::array(
    {{{"name", "fixed"}, {"match", "tailfixed/*/*"},
      {"hedging", {{"delay_ms", 5}}}, {"outlier", {{"consecutive_failures", 0}}}},
     {{"name", "adaptive"}, {"match", "tailadapt/*/*"},
      {"hedging", {{"adaptive", true}}},
      {"outlier", {{"consecutive_failures", 0}}}}});
  auto cfg_path = dir + "/caller.json";
  std::ofstream{cfg_path} << cfg.dump();
  auto h = start_node({"--id", "bench-h", "--namespaces",
                       "bench,tailfixed,tailadapt", "--plugin", plugin,
                       "--seeds", seeds[0] + "," + seeds[1], "--data-dir",
                       dir + "/h"},
                      ready, cfg_path, true);
  if (!h)
    return h.error();
  hedge_h_ = std::move(*h);
  auto c = console_client::connect(
    ready["console"].get<std::string>(),
    [this](caf::actor_system_config& cfg) { configure(cfg); });
  if (!c)
    return c.error();
  hedge_client_ = std::move(*c);
  // Wait until H routes to both servers.
  std::set<std::string> seen;
  auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto r = hedge_client_->call({{"cmd", "dispatch"},
                                  {"namespace", "tailfixed"},
                                  {"service", "Tail"},
                                  {"method", "Echo"}},
                                 std::chrono::seconds{5});
    if (r && r->value("ok", false))
      seen.insert(r->value("result", nlohmann::json::object())
                    .value("handled_by", ""));
  }
  if (seen.size() < 2)
    return make_error(status_code::unavailable,
                      "the hedging caller never reached both servers");
  return caf::none;
}

spawn_options bench_env::caf_echo_options(std::vector<std::string> args,
                                          bool calling) const {
  spawn_options so;
  so.argv = {opts.bin_dir + "/caf_echo"};
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  auto flags = caf_flags();
  so.argv.insert(so.argv.end(), flags.begin(), flags.end());
  so.pin_cpu = calling ? calling_cpu(opts) : serving_cpu(opts);
  return so;
}

caf::expected<nlohmann::json>
bench_env::run_caf_echo(std::vector<std::string> args) {
  auto so = caf_echo_options(std::move(args), true);
  auto budget = opts.warmup + opts.duration + std::chrono::seconds{60};
  auto r = run_to_completion(so, budget);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded())
    return make_error(status_code::internal, "caf_echo failed: " + r.err);
  return doc;
}

caf::expected<std::string>
bench_env::start_caf_server(std::vector<std::string> args) {
  auto so = caf_echo_options(std::move(args), false);
  auto child = child_process::spawn(so);
  if (!child)
    return child.error();
  auto line = child->read_line(start_timeout);
  auto doc = nlohmann::json::parse(line.value_or(""), nullptr, false);
  if (doc.is_discarded() || !doc.contains("port"))
    return make_error(status_code::unavailable, "caf_echo did not start");
  caf_servers_.push_back(std::move(*child));
  return "127.0.0.1:" + std::to_string(doc["port"].get<int>());
}

void bench_env::stop_caf_servers() {
  for (auto& s : caf_servers_)
    s.signal_and_wait(SIGTERM, std::chrono::seconds{5});
  caf_servers_.clear();
}

long cpu_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15)
      ticks += std::stol(field);
  return ticks;
}

double cpu_seconds(pid_t pid) {
  return static_cast<double>(cpu_ticks(pid))
         / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace mesh::bench
