#include "bench/scenarios/scale_bench.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench/figures.hpp"
#include "node/os/child_process.hpp"
#include "protocol/address.hpp"

namespace mesh::bench {

namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr auto mesh_timeout = std::chrono::seconds{60};

double seconds_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// The body of GET `path` on the HTTP API at `address`; nullopt on any
// failure. One connection per request: a poll must not hold a worker.
std::optional<std::string> http_get(const std::string& address,
                                    const std::string& path) {
  std::string error;
  auto hp = parse_host_port(address, error);
  if (!hp)
    return std::nullopt;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return std::nullopt;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(hp->port);
  ::inet_pton(AF_INET, hp->host.c_str(), &addr.sin_addr);
  std::string response;
  auto request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Connection: close\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0
      && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL)
           == static_cast<ssize_t>(request.size())) {
    char buf[8192];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0)
        break;
      response.append(buf, static_cast<size_t>(n));
      // Stop at Content-Length rather than wait for the close.
      auto head_end = response.find("\r\n\r\n");
      auto cl = response.find("Content-Length: ");
      if (head_end != std::string::npos && cl != std::string::npos
          && cl < head_end) {
        auto length = std::stoul(response.substr(cl + 16));
        if (response.size() >= head_end + 4 + length)
          break;
      }
    }
  }
  ::close(fd);
  auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos)
    return std::nullopt;
  return response.substr(head_end + 4);
}

// Peers up as the node's status says; -1 when it does not answer.
int peers_up(const std::string& http) {
  auto body = http_get(http, "/v1/status");
  if (!body)
    return -1;
  auto doc = json::parse(*body, nullptr, false);
  if (doc.is_discarded() || !doc.value("ok", false))
    return -1;
  return doc["result"].value("peers_up", -1);
}


// Time on a CPU of all of a process's threads, in ns, from the scheduler's
// own accounting (/proc/<pid>/task/*/schedstat): exact, where utime and
// stime are sampled at clock ticks (10 ms here, longer than most wake-ups of
// an idle node, so a tick lands on one by chance or not at all).
uint64_t cpu_ns(pid_t pid) {
  uint64_t ns = 0;
  std::error_code ec;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator{dir, ec}) {
    std::ifstream in{t.path() / "schedstat"};
    uint64_t x = 0;
    if (in >> x)
      ns += x;
  }
  return ns;
}

// Resident memory (VmRSS) in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

struct scale_node {
  std::string id;
  child_process proc;
  std::string listen, http;
  double full_at = -1; ///< seconds after the last ready line
};

spawn_options node_options(const bench_options& opts, const std::string& dir,
                           const std::string& config, const std::string& id,
                           const std::string& seed, size_t index) {
  spawn_options so;
  so.argv = {opts.bin_dir + "/meshnode", "--config", config, "--log-level",
             "warn", "--id", id, "--data-dir", dir + "/" + id};
  if (!seed.empty())
    so.argv.insert(so.argv.end(), {"--seeds", seed});
  // Apart: the nodes take turns on the two CPUs.
  so.pin_cpu = opts.apart ? static_cast<int>(index % 2) : serving_cpu(opts);
  return so;
}

bool read_ready(scale_node& n) {
  auto line = n.proc.read_line(std::chrono::seconds{30});
  auto ready = json::parse(line.value_or(""), nullptr, false);
  if (ready.is_discarded() || ready.value("event", "") != "ready")
    return false;
  n.listen = ready.value("listen", "");
  n.http = ready.value("http", "");
  return true;
}

// The CPU the nodes use over `idle`, in % of one core, by utime + stime and
// by schedstat: in total and each node's.
json idle_window(const std::vector<scale_node>& nodes,
                 std::chrono::milliseconds idle) {
  std::vector<std::pair<long, uint64_t>> start; // ticks and ns, per node
  for (const auto& n : nodes)
    start.emplace_back(cpu_ticks(n.proc.pid()), cpu_ns(n.proc.pid()));
  std::this_thread::sleep_for(idle);
  long total = 0;
  uint64_t total_ns = 0;
  auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto idle_s = std::chrono::duration<double>(idle).count();
  json per_node = json::array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto pid = nodes[i].proc.pid();
    auto used = cpu_ticks(pid) - start[i].first;
    auto used_ns = cpu_ns(pid) - start[i].second;
    total += used;
    total_ns += used_ns;
    per_node.push_back(
      {{"percent", 100.0 * used / tick / idle_s},
       {"percent_schedstat",
        100.0 * static_cast<double>(used_ns) / 1e9 / idle_s}});
  }
  return {{"percent", 100.0 * total / tick / idle_s},
          {"percent_schedstat",
           100.0 * static_cast<double>(total_ns) / 1e9 / idle_s},
          {"per_node", per_node}};
}

json measure(const bench_options& opts, std::vector<scale_node>& nodes,
             const std::string& dir, const std::string& config,
             std::chrono::milliseconds idle) {
  const auto count = nodes.size();
  nodes[0].id = "scale-00";
  auto seed = child_process::spawn(
    node_options(opts, dir, config, "scale-00", "", 0));
  if (!seed)
    return {{"error", "cannot start the seed"}};
  nodes[0].proc = std::move(*seed);
  if (!read_ready(nodes[0]))
    return {{"error", "the seed did not start"}};
  // The others start together, each knowing only the seed.
  auto first_spawn = clock_type::now();
  for (size_t i = 1; i < count; ++i) {
    std::ostringstream id;
    id << "scale-" << std::setw(2) << std::setfill('0') << i;
    nodes[i].id = id.str();
    auto c = child_process::spawn(
      node_options(opts, dir, config, nodes[i].id, nodes[0].listen, i));
    if (!c)
      return {{"error", "cannot start " + nodes[i].id}};
    nodes[i].proc = std::move(*c);
  }
  auto last_spawn = clock_type::now();
  for (size_t i = 1; i < count; ++i)
    if (!read_ready(nodes[i]))
      return {{"error", nodes[i].id + " did not start"}};
  auto last_ready = clock_type::now();
  // Every node polled in turn until each has seen all others up once.
  const int want = static_cast<int>(count) - 1;
  size_t full = 0;
  double full_mesh = -1;
  size_t polls = 0;
  while (full < count && clock_type::now() - last_ready < mesh_timeout) {
    for (auto& n : nodes) {
      if (n.full_at >= 0)
        continue;
      ++polls;
      if (peers_up(n.http) == want) {
        n.full_at = seconds_between(last_ready, clock_type::now());
        if (++full == count)
          full_mesh = n.full_at;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  json result{{"nodes", count},
              {"start_s", seconds_between(first_spawn, last_ready)},
              {"full_mesh_after_last_ready_s", full_mesh},
              {"full_mesh_after_last_spawn_s",
               full_mesh < 0 ? -1.0
                             : full_mesh + seconds_between(last_spawn,
                                                           last_ready)},
              {"status_polls", polls}};
  if (full_mesh < 0)
    result["error"] = std::to_string(full) + " of " + std::to_string(count)
                      + " nodes saw every peer up within "
                      + std::to_string(mesh_timeout.count()) + " s";
  // Idle, twice: the window right after the full mesh, then the next one.
  // The first still sees startup's timers fire: CAF 0.17 does not cancel a
  // request's timer when its answer comes, so each request of the joins
  // (dials: 5 and 6 s) and of the status polls above (the console's asks:
  // 5 s) wakes its actor once more, answered or not. The second window is
  // the idle cluster: nothing but heartbeats and the nodes' own timers.
  std::this_thread::sleep_for(std::chrono::seconds{1});
  auto after_mesh = idle_window(nodes, idle);
  result["idle_ms"] = idle.count();
  result["idle_after_mesh"] = after_mesh;
  auto settled = idle_window(nodes, idle);
  result["idle_cpu_percent"] = settled["percent"];
  result["idle_cpu_percent_schedstat"] = settled["percent_schedstat"];
  json per_node = json::array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    per_node.push_back({{"id", n.id},
                        {"pid", n.proc.pid()},
                        {"full_at_s", n.full_at},
                        {"idle_cpu_percent",
                         settled["per_node"][i]["percent"]},
                        {"idle_cpu_percent_schedstat",
                         settled["per_node"][i]["percent_schedstat"]},
                        {"idle_after_mesh", after_mesh["per_node"][i]},
                        {"rss_kib", rss_kib(n.proc.pid())},
                        {"peers_up_after_idle", peers_up(n.http)}});
  }
  result["per_node"] = per_node;
  return result;
}

void print(const json& r) {
  std::cout << "\nscale: " << r.value("nodes", 0)
            << " nodes on 127.0.0.1 (one seed, the others started together)\n";
  if (r.contains("error"))
    std::cout << "  error: " << r["error"].get<std::string>() << "\n";
  if (r.value("full_mesh_after_last_ready_s", -1.0) >= 0)
    std::cout << "  full mesh (every node sees " << r.value("nodes", 0) - 1
              << " peers up): "
              << fmt(r["full_mesh_after_last_ready_s"].get<double>(), 3)
              << " s after the last node was ready ("
              << fmt(r["full_mesh_after_last_spawn_s"].get<double>(), 3)
              << " s after the last start; starting took "
              << fmt(r.value("start_s", 0.0), 3) << " s)\n";
  if (!r.contains("per_node"))
    return;
  std::vector<long> rss;
  double max_cpu = 0;
  int partial = 0;
  for (const auto& n : r["per_node"]) {
    rss.push_back(n.value("rss_kib", 0L));
    max_cpu = std::max(max_cpu, n.value("idle_cpu_percent", 0.0));
    partial += n.value("peers_up_after_idle", 0) != r.value("nodes", 0) - 1;
  }
  std::sort(rss.begin(), rss.end());
  auto first = r.value("idle_after_mesh", json::object());
  std::cout << "  idle cluster: " << fmt(r.value("idle_cpu_percent", 0.0), 2)
            << " % of one core in total (utime + stime) over "
            << r.value("idle_ms", 0) << " ms (busiest node " << fmt(max_cpu, 2)
            << " %); exact (schedstat): "
            << fmt(r.value("idle_cpu_percent_schedstat", 0.0), 2) << " %\n"
            << "    (the window before, right after the full mesh, while "
               "startup's timers still fire: "
            << fmt(first.value("percent", 0.0), 2) << " %; schedstat "
            << fmt(first.value("percent_schedstat", 0.0), 2) << " %)\n"
            << "  RSS per node: min " << fmt(rss.front() / 1024.0, 1)
            << " MiB, median " << fmt(rss[rss.size() / 2] / 1024.0, 1)
            << " MiB, max " << fmt(rss.back() / 1024.0, 1) << " MiB\n";
  if (partial > 0)
    std::cout << "  " << partial << " node(s) no longer saw every peer up "
              << "after the idle period\n";
}

} // namespace

json run_scale_bench(const bench_options& opts, size_t count,
                     std::chrono::milliseconds idle) {
  char dir[] = "/tmp/meshbench-scale-XXXXXX";
  if (::mkdtemp(dir) == nullptr)
    return {{"error", "cannot create a temp folder"}};
  auto config = std::string{dir} + "/node.json";
  std::ofstream{config} << json{
    {"listen", "127.0.0.1:0"},
    {"console", "127.0.0.1:0"},
    {"http", "127.0.0.1:0"},
    {"scheduler",
     {{"policy", opts.policy},
      {"max_threads", opts.threads},
      {"middleman_workers", opts.middleman_workers}}},
    {"cluster", {{"heartbeat_interval_ms", opts.heartbeat_ms}}}}.dump();
  std::vector<scale_node> nodes(std::max<size_t>(count, 2));
  auto result = measure(opts, nodes, dir, config, idle);
  // Stop them together, then reap each.
  for (auto& n : nodes)
    if (n.proc.pid() > 0)
      ::kill(n.proc.pid(), SIGTERM);
  for (auto& n : nodes)
    if (n.proc.pid() > 0 && !n.proc.signal_and_wait(SIGTERM,
                                                   std::chrono::seconds{10}))
      n.proc.kill_hard();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  print(result);
  return result;
}

} // namespace mesh::bench
