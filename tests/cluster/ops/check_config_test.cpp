#define CAF_SUITE cluster.check_config
#include "check.hpp"

// meshnode as a new user meets it: `--check-config` runs every check of a
// start without starting anything; a definition folder that is not there
// stops the start (exit 2); each node's state is its own, and a node with
// nothing to keep writes nothing.

#include <filesystem>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string examples = std::string{MESH_SOURCE_DIR} + "/examples";

// Never the default ports.
const std::vector<std::string> ephemeral = {"--listen", "127.0.0.1:0",
                                            "--console", "127.0.0.1:0",
                                            "--http", "127.0.0.1:0"};

run_result meshnode(std::vector<std::string> args) {
  std::vector<std::string> argv{bin("meshnode")};
  argv.insert(argv.end(), ephemeral.begin(), ephemeral.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, 60s);
}

run_result check_config(const std::string& config,
                        std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--config", config, "--check-config"};
  args.insert(args.end(), more.begin(), more.end());
  return meshnode(args);
}

#define CHECK_SAYS(r, text)                                                    \
  MESH_CHECK_MSG((r).err.find(text) != std::string::npos,                     \
                 "stderr lacks '" << (text) << "': " << (r).err)

json variant_row(const std::string& console, const std::string& variant) {
  auto stats = meshctl_json(console, {"strategy", "stats", "recommendations"});
  for (const auto& row : stats["result"]["variants"])
    if (row.value("variant", "") == variant)
      return row;
  return nullptr;
}

std::vector<std::string> node_args(const std::string& id,
                                   const std::string& data_dir) {
  std::vector<std::string> args{"--manifests", examples + "/manifests",
                                "--data-dir", data_dir};
  if (!id.empty()) {
    args.push_back("--id");
    args.push_back(id);
  }
  args.insert(args.end(), ephemeral.begin(), ephemeral.end());
  return args;
}

} // namespace

CAF_TEST(check-config finds what only the start used to find) {
  temp_dir dir;
  auto cfg = dir.write("node.json", json{
    {"plugins", {"/nonexistent/libx.so"}},
    {"manifests", dir.file("no-manifests")},
    {"topics", {{"routes", {{{"id", "r"}, {"pattern", "orders.>"},
                             {"category", "event"},
                             {"dispatcher", "nobody"}}}}}}}.dump());
  auto r = check_config(cfg);
  CAF_CHECK_EQUAL(r.exit_code, 2);
  CAF_CHECK(r.out.empty());
  CHECK_SAYS(r, cfg + ": /plugins/0: plug-in '/nonexistent/libx.so'");
  CHECK_SAYS(r, cfg + ": /manifests: the manifests folder '"
                  + dir.file("no-manifests") + "' does not exist");
  CHECK_SAYS(r, cfg + ": /topics/routes/0: route 'r' names unknown "
                      "dispatcher 'nobody'");
  // A value from a flag is blamed on the command line.
  auto flag = check_config(dir.write("empty.json", "{}"),
                           {"--jobs", dir.file("no-jobs")});
  CAF_CHECK_EQUAL(flag.exit_code, 2);
  CHECK_SAYS(flag, "command line: /jobs: the jobs folder '"
                     + dir.file("no-jobs") + "' does not exist");
  // Nothing was created by looking.
  CAF_CHECK(!std::filesystem::exists(dir.file("no-manifests")));
}

CAF_TEST(check-config names unknown keys and lists valid values) {
  temp_dir dir;
  auto r = check_config(dir.write("typo.json", R"({"lisen": "127.0.0.1:0",
                                                  "log_level": "verbose"})"));
  CAF_CHECK_EQUAL(r.exit_code, 2);
  CHECK_SAYS(r, "typo.json: /lisen: unknown key 'lisen'; did you mean "
                "'listen'?");
  CHECK_SAYS(r, "typo.json: /log_level: 'verbose' is not one of: trace, "
                "debug, info, warn, error, critical, off");
  CAF_CHECK(r.err.find("'not' constraint") == std::string::npos);
}

CAF_TEST(check-config prints the effective configuration without secrets) {
  temp_dir dir;
  auto cfg = dir.write("secret.json", json{
    {"cluster", {{"secret", "hunter2-cluster-secret"}}},
    {"console", {{"token", "console-token-value"}}},
    {"manifests", examples + "/manifests"},
    {"data_dir", dir.file("state")}}.dump());
  auto r = check_config(cfg);
  CAF_REQUIRE_EQUAL(r.exit_code, 0);
  auto doc = json::parse(r.out, nullptr, false);
  CAF_REQUIRE(doc.is_object());
  CAF_CHECK_EQUAL(doc["cluster"]["secret"], "***");
  CAF_CHECK_EQUAL(doc["console"]["token"], "***");
  CAF_CHECK_EQUAL(doc["manifests"], examples + "/manifests");
  CAF_CHECK(r.out.find("hunter2") == std::string::npos);
  CAF_CHECK(r.out.find("console-token-value") == std::string::npos);
  CAF_CHECK(r.err.find("hunter2") == std::string::npos);
  // Checked, not started, and nothing created.
  CAF_CHECK(r.out.find("\"ready\"") == std::string::npos);
  CAF_CHECK(!std::filesystem::exists(dir.file("state")));
}

CAF_TEST(a definition folder that is not there stops the start with exit 2) {
  for (const char* flag : {"--manifests", "--jobs", "--workflows"}) {
    auto r = meshnode({flag, "/nope"});
    CAF_MESSAGE(flag << " /nope: exit " << r.exit_code << ": " << r.err);
    CAF_CHECK_EQUAL(r.exit_code, 2);
    CAF_CHECK(r.out.find("\"ready\"") == std::string::npos);
    CHECK_SAYS(r, std::string{"command line: /"} + (flag + 2)
                    + ": the " + (flag + 2) + " folder '/nope' does not exist");
  }
}

CAF_TEST(two nodes in one folder do not share their evidence) {
  temp_dir dir;
  auto shared = dir.file("mesh-data");
  {
    node_process a{node_args("a", shared), 60s, false};
    for (int i = 0; i < 3; ++i)
      meshctl_json(a.http(), {"outcome", "recommendations", "personal",
                                 "success"});
    CAF_REQUIRE_EQUAL(a.terminate(), 0);
  }
  CAF_CHECK(std::filesystem::exists(shared + "/a.bandit-evidence.json"));
  // An unrelated node started in the same folder starts from nothing...
  node_process b{node_args("b", shared), 60s, false};
  CAF_CHECK_EQUAL(variant_row(b.http(), "personal").value("successes", -1),
                  0);
  // ...while a, restarted, has what it learned.
  node_process again{node_args("a", shared), 60s, false};
  CAF_CHECK_EQUAL(
    variant_row(again.http(), "personal").value("successes", -1), 3);
}

CAF_TEST(a node with nothing to keep writes nothing) {
  temp_dir dir;
  auto data = dir.file("mesh-data");
  {
    // No manifests: no evidence file, not even the folder.
    node_process idle{{"--data-dir", data, "--listen", "127.0.0.1:0",
                       "--console", "127.0.0.1:0", "--http", "127.0.0.1:0"},
                      60s, false};
    CAF_REQUIRE_EQUAL(idle.terminate(), 0);
  }
  CAF_CHECK(!std::filesystem::exists(data));
  {
    // Manifests but no outcome: nothing learned, nothing written.
    node_process quiet{node_args("q", data), 60s, false};
    CAF_REQUIRE_EQUAL(quiet.terminate(), 0);
  }
  CAF_CHECK(!std::filesystem::exists(data));
  {
    // Port 0 and no id: the id is this process's, and so is the evidence;
    // it is not left behind for an id no later process has.
    node_process ephemeral_node{node_args("", data), 60s, false};
    meshctl_json(ephemeral_node.http(),
                 {"outcome", "recommendations", "popular", "success"});
    CAF_CHECK_EQUAL(variant_row(ephemeral_node.http(), "popular")
                      .value("successes", -1),
                    1);
    CAF_REQUIRE_EQUAL(ephemeral_node.terminate(), 0);
  }
  CAF_CHECK(!std::filesystem::exists(data));
}
