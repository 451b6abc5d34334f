#define CAF_SUITE cluster.local_cluster_script
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// examples/cluster/local-cluster.sh: reports 3 nodes only once each sees
// the two others up, prints their HTTP addresses, stops them all; a node
// that fails to start makes it fail with that node's log, leaving nothing
// running.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

std::string script() {
  return std::string{MESH_SOURCE_DIR} + "/examples/cluster/local-cluster.sh";
}

run_result run_script(const std::string& mode, const std::string& cluster_dir,
                      const std::string& node_args = "") {
  auto build_dir = std::string{MESH_BIN_DIR};
  build_dir = build_dir.substr(0, build_dir.rfind('/'));
  return mesh::run_to_completion(
      {{"/bin/bash", script(), mode},
       {"MESH_BUILD_DIR=" + build_dir, "MESH_CLUSTER_DIR=" + cluster_dir,
        "MESH_NODE_ARGS=" + node_args},
       {},
       false},
      90s);
}

std::vector<pid_t> node_pids(const std::string& cluster_dir) {
  std::vector<pid_t> pids;
  for (auto id : {"node-a", "node-b", "node-c"}) {
    std::ifstream in{cluster_dir + "/" + id + ".pid"};
    pid_t pid = 0;
    if (in >> pid)
      pids.push_back(pid);
  }
  return pids;
}

// Running, not a zombie waiting for whoever adopted it to reap it.
bool alive(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(in, stat);
  auto i = stat.rfind(") ");
  return i != std::string::npos && i + 2 < stat.size() && stat[i + 2] != 'Z';
}

} // namespace

CAF_TEST(start reports 3 nodes that see each other and stop ends them) {
  temp_dir dir;
  auto cluster = dir.file("cluster");
  auto started = run_script("start", cluster);
  MESH_CHECK_MSG(started.exit_code == 0, started.out << started.err);
  auto pids = node_pids(cluster);
  CAF_CHECK_EQUAL(pids.size(), 3u);
  // Whatever happens below, no node outlives the test.
  struct reaper {
    std::vector<pid_t>& pids;
    ~reaper() {
      for (auto p : pids)
        ::kill(p, SIGKILL);
    }
  } guard{pids};
  MESH_CHECK_MSG(started.out.find("3 nodes up") != std::string::npos,
                 started.out);
  // One line per node with its HTTP address, and each answers on it.
  std::regex line{R"((node-[abc])  http (127\.0\.0\.1:[0-9]+))"};
  std::vector<std::string> https;
  for (std::sregex_iterator i{started.out.begin(), started.out.end(), line}, e;
       i != e; ++i)
    https.push_back((*i)[2]);
  CAF_REQUIRE_EQUAL(https.size(), 3u);
  for (const auto& http : https) {
    auto r = run_program({"/usr/bin/env", "curl", "-s", "--max-time", "5",
                          "http://" + http + "/v1/peers"});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    MESH_CHECK_MSG(!doc.is_discarded() && doc.value("ok", false),
                   http << ": " << r.out);
    if (!doc.is_discarded() && doc.value("ok", false)) {
      size_t up = 0;
      for (const auto& p : doc["result"])
        up += p.value("state", "") == "up" ? 1 : 0;
      CAF_CHECK_EQUAL(up, 2u);
    }
  }
  for (auto p : pids)
    CAF_CHECK(alive(p));
  auto stopped = run_script("stop", cluster);
  CAF_CHECK_EQUAL(stopped.exit_code, 0);
  for (auto p : pids)
    CAF_CHECK(!alive(p));
  CAF_CHECK(!std::filesystem::exists(cluster));
}

CAF_TEST(a node that fails to start fails the script with its log) {
  temp_dir dir;
  auto cluster = dir.file("cluster");
  auto r = run_script("start", cluster, "--plugin /nonexistent/libx.so");
  CAF_CHECK_EQUAL(r.exit_code, 1);
  for (auto phrase :
       {"node-a exited before it was ready", "plug-in '/nonexistent/libx.so'"})
    MESH_CHECK_MSG(r.err.find(phrase) != std::string::npos,
                   "lacks '" << phrase << "': " << r.err);
  CAF_CHECK(r.out.find("nodes up") == std::string::npos);
  // Nothing left behind: the folder (and with it the pids) is gone.
  CAF_CHECK(!std::filesystem::exists(cluster));
}
