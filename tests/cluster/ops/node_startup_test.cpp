#define CAF_SUITE cluster.node_startup
#include "check.hpp"
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

#include "process.hpp"

using namespace mesh::test;

namespace {

struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/mesh-startup-XXXXXX";
    int fd = ::mkstemp(name);
    CAF_REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream{path} << text;
  }
  ~temp_file() {
    ::unlink(path.c_str());
  }
};

void check_refused(const std::vector<std::string>& args, int code,
                   const std::vector<std::string>& phrases) {
  std::vector<std::string> argv{bin("meshnode")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv, 30s);
  CAF_CHECK_EQUAL(r.exit_code, code);
  MESH_CHECK_MSG(r.out.empty(), "printed a ready line: " << r.out);
  for (const auto& p : phrases)
    MESH_CHECK_MSG(r.err.find(p) != std::string::npos,
                      "stderr lacks '" << p << "': " << r.err);
}

} // namespace

CAF_TEST(with no arguments the node runs the embedded default) {
  node_process node{{}, 60s, false};
  CAF_CHECK_EQUAL(node.listen(), "127.0.0.1:7420");
  CAF_CHECK_EQUAL(node.console(), "127.0.0.1:7421");
  CAF_CHECK(node.id().find("-7420") != std::string::npos);
  auto status = meshctl_json(node.http(), {"status"});
  CAF_CHECK_EQUAL(status["result"]["id"], node.id());
  CAF_CHECK_GREATER_OR_EQUAL(status["result"]["handlers"].get<int>(), 5);
  CAF_CHECK_EQUAL(node.terminate(), 0);
}

CAF_TEST(the ready line has the actual addresses for port 0) {
  node_process node{{"--id", "ready-test"}};
  CAF_CHECK_EQUAL(node.id(), "ready-test");
  CAF_CHECK(node.listen().find("127.0.0.1:") == 0);
  CAF_CHECK(node.listen() != "127.0.0.1:0");
  CAF_CHECK(node.console() != "127.0.0.1:0");
  CAF_CHECK_EQUAL(node.terminate(), 0);
}

CAF_TEST(the node raises its open files limit to the hard limit) {
  // Started with a soft limit of 256 (the hard one as it is): a few
  // hundred clients would have used it up.
  rlimit mine{};
  CAF_REQUIRE_EQUAL(::getrlimit(RLIMIT_NOFILE, &mine), 0);
  CAF_REQUIRE_GREATER(mine.rlim_max, 256u);
  auto low = mine;
  low.rlim_cur = 256;
  CAF_REQUIRE_EQUAL(::setrlimit(RLIMIT_NOFILE, &low), 0);
  node_process node{{"--id", "files"}};
  CAF_REQUIRE_EQUAL(::setrlimit(RLIMIT_NOFILE, &mine), 0);
  // /proc/PID/limits: "Max open files  <soft>  <hard>  files".
  std::ifstream in{"/proc/" + std::to_string(node.pid()) + "/limits"};
  std::string line;
  std::string soft;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0)
      soft = line.substr(26, line.find(' ', 26) - 26);
  auto wanted = std::min<rlim_t>(mine.rlim_max, 1 << 20);
  CAF_CHECK_EQUAL(soft, std::to_string(wanted));
  CAF_CHECK(node.log().find("open files limit raised from 256 to "
                            + std::to_string(wanted))
            != std::string::npos);
  CAF_CHECK_EQUAL(node.terminate(), 0);
}

CAF_TEST(an unreadable config file is named) {
  check_refused({"--config", "/nonexistent/node.json"}, 2,
                {"/nonexistent/node.json", "cannot open"});
}

CAF_TEST(invalid JSON is reported with line and column) {
  temp_file f{"{\n  \"id\": \"x\",,\n}"};
  check_refused({"--config", f.path}, 2, {f.path + ":2:"});
}

CAF_TEST(an unknown key is reported with its pointer) {
  temp_file f{R"({"limits": {"max_queueue": 5}})"};
  check_refused({"--config", f.path}, 2, {f.path + ": /limits", "max_queueue"});
}

CAF_TEST(a wrong type is reported with its pointer) {
  temp_file f{R"({"limits": {"max_queue": "lots"}})"};
  check_refused({"--config", f.path}, 2, {f.path + ": /limits/max_queue"});
}

CAF_TEST(a bad address is reported) {
  check_refused({"--listen", "not-an-address"}, 2,
                {"command line: /listen"});
  temp_file f{R"({"console": "127.0.0.1:70000"})"};
  check_refused({"--config", f.path}, 2, {"/console", "70000"});
}

CAF_TEST(a route naming an unknown dispatcher is a clear start-up error) {
  temp_file f{R"({"listen": "127.0.0.1:0", "console": "127.0.0.1:0",
                  "topics": {"routes": [{"id": "r", "pattern": "orders.>",
                    "category": "event", "dispatcher": "nobody"}]}})"};
  check_refused({"--config", f.path}, 1,
                {"/topics/routes", "unknown dispatcher 'nobody'"});
  temp_file g{R"({"topics": {"routes": [{"id": "r", "pattern": "a.>.b",
                    "category": "event", "dispatcher": "x"}]}})"};
  check_refused({"--config", g.path}, 2, {"/topics/routes/0/pattern"});
}

CAF_TEST(a manifests folder that is not there stops the start) {
  // Bad manifests in a folder are reported, never fatal (cluster.process
  // checks the report); a folder that is not there is a configuration
  // error, as for jobs and workflows (cluster.check_config).
  check_refused({"--listen", "127.0.0.1:0", "--console", "127.0.0.1:0",
                 "--http", "127.0.0.1:0", "--manifests",
                 "/nonexistent/manifests"},
                2, {"command line: /manifests", "/nonexistent/manifests",
                    "does not exist"});
}

CAF_TEST(a port in use is a clear start-up error) {
  node_process first{{"--id", "first"}};
  check_refused({"--listen", first.listen(), "--console", "127.0.0.1:0"}, 1,
                {"cannot listen on " + first.listen(),
                 "another process listens there"});
  // The console port too (CAF's error once came out as "code 18").
  check_refused({"--listen", "127.0.0.1:0", "--console", first.console()}, 1,
                {"cannot listen for the console on " + first.console(),
                 "another process listens there"});
  CAF_CHECK(first.running());
}

CAF_TEST(a missing or broken plug-in is a clear start-up error) {
  auto base = std::vector<std::string>{"--listen", "127.0.0.1:0", "--console",
                                       "127.0.0.1:0", "--plugin"};
  auto with = [&](const std::string& plugin) {
    auto args = base;
    args.push_back(plugin);
    return args;
  };
  check_refused(with("/nonexistent/libx.so"), 1,
                {"plug-in '/nonexistent/libx.so'", "no such file"});
  check_refused(with(bin("libmesh_test_plugin_no_entry.so")), 1,
                {"does not export mesh_register_handlers"});
  check_refused(with(bin("libmesh_test_plugin_failing.so")), 1,
                {"registration failed with code 3"});
  temp_file garbage{"this is not a shared library"};
  check_refused(with(garbage.path), 1, {"cannot load"});
}

CAF_TEST(unknown flags are refused) {
  check_refused({"--frobnicate"}, 2, {"frobnicate"});
}
