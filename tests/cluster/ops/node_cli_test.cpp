#define CAF_SUITE cluster.node_cli
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// meshnode's command line as a new user meets it: --version, --log-format
// json, and plug-ins (found where the user expects, each failure in its own
// words).

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "node/plugin_api.hpp"
#include "process.hpp"
#include "protocol/version.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

// Runs meshnode ARGS in `cwd` (through the shell: spawn_options has no
// working directory); the node must fail to start.
run_result start_in(const std::string& cwd,
                    const std::vector<std::string>& args) {
  std::string cmd = "cd '" + cwd + "' && exec '" + bin("meshnode")
                    + "' --listen 127.0.0.1:0 --console 127.0.0.1:0"
                      " --http 127.0.0.1:0 --data-dir '"
                    + cwd + "/data'";
  for (const auto& a : args)
    cmd += " '" + a + "'";
  return run_program({"/bin/sh", "-c", cmd}, 30s);
}

void check_has(const std::string& text, const std::string& phrase) {
  MESH_CHECK_MSG(text.find(phrase) != std::string::npos,
                 "lacks '" << phrase << "': " << text);
}

} // namespace

CAF_TEST(meshnode-- version prints the version and its allocator) {
  auto r = run_program({bin("meshnode"), "--version"}, 30s);
  CAF_CHECK_EQUAL(r.exit_code, 0);
  auto first = r.out.substr(0, r.out.find('\n'));
  CAF_CHECK_EQUAL(first, std::string{"meshnode "} + mesh::mesh_version);
  check_has(r.out, std::string{"allocator: "} + MESH_EXPECT_ALLOCATOR);
}

CAF_TEST(a running meshnode allocates with the malloc it was built with) {
  temp_dir dir;
  node_process n{{"--log-level", "info", "--data-dir", dir.file("data")}};
  // The library is mapped into the process, and jemalloc itself answered
  // the start log's question (not a fallback text).
  std::ifstream maps{"/proc/" + std::to_string(n.pid()) + "/maps"};
  std::stringstream text;
  text << maps.rdbuf();
  bool mapped = text.str().find("libjemalloc") != std::string::npos;
  CAF_CHECK_EQUAL(mapped, bool{MESH_EXPECT_JEMALLOC});
  check_has(n.log(), std::string{"allocating with "} + MESH_EXPECT_ALLOCATOR);
  CAF_CHECK_EQUAL(n.terminate(), 0);
}

CAF_TEST(with log_format json every log line is a JSON object with the node) {
  temp_dir dir;
  node_process n{{"--id", "json-node", "--log-format", "json", "--log-level",
                  "info", "--data-dir", dir.file("data")}};
  // A stranger guessing actor ids makes CAF's own actors print "unexpected
  // message" (when its messages arrive before it hangs up: it may take a
  // few tries): those lines must come out as JSON log lines too.
  CAF_CHECK(await_condition([&] {
    run_program({bin("mesh_stranger"), n.listen(), "guess", "20", "nobody"});
    return n.log().find(R"("logger":"caf")") != std::string::npos;
  }));
  CAF_CHECK_EQUAL(n.terminate(), 0);
  std::istringstream lines{n.log()};
  std::string line;
  size_t count = 0;
  while (std::getline(lines, line)) {
    ++count;
    auto doc = nlohmann::json::parse(line, nullptr, false);
    MESH_CHECK_MSG(doc.is_object(), "not a JSON object: " << line);
    if (!doc.is_object())
      continue;
    for (auto key : {"time", "level", "logger", "node", "msg"})
      MESH_CHECK_MSG(doc.contains(key), "no '" << key << "': " << line);
    CAF_CHECK_EQUAL(doc.value("node", ""), "json-node");
  }
  CAF_CHECK_GREATER(count, 3u);
}

CAF_TEST(a plug - in entry that returns - 1 is a failed registration) {
  temp_dir dir;
  auto r = start_in(dir.path(),
                    {"--plugin", bin("libmesh_test_plugin_minus_one.so")});
  CAF_CHECK_EQUAL(r.exit_code, 1);
  check_has(r.err, "mesh_register_handlers returned -1 (registration failed)");
  CAF_CHECK(r.err.find("ABI") == std::string::npos);
}

CAF_TEST(a plug-in built for another ABI version names both versions) {
  temp_dir dir;
  auto r = start_in(dir.path(),
                    {"--plugin", bin("libmesh_test_plugin_other_abi.so")});
  CAF_CHECK_EQUAL(r.exit_code, 1);
  check_has(r.err, "built for plug-in ABI version 3, this node speaks "
                   "version "
                       + std::to_string(mesh::plugin_abi_version));
}

CAF_TEST(a bare plug - in name is found in the working directory) {
  temp_dir dir;
  // The failing test plug-in under a name found nowhere else: its own error
  // proves it was found and loaded from the working directory.
  std::filesystem::copy_file(bin("libmesh_test_plugin_failing.so"),
                             dir.file("libmine.so"));
  auto r = start_in(dir.path(), {"--plugin", "libmine.so"});
  CAF_CHECK_EQUAL(r.exit_code, 1);
  check_has(r.err, "plug-in 'libmine.so': registration failed with code 3");
  // A relative path with a slash is relative to the working directory.
  std::filesystem::create_directory(dir.file("sub"));
  std::filesystem::copy_file(bin("libmesh_test_plugin_failing.so"),
                             dir.file("sub/libmine.so"));
  r = start_in(dir.path(), {"--plugin", "sub/libmine.so"});
  check_has(r.err, "plug-in 'sub/libmine.so': registration failed with code 3");
}

CAF_TEST(a plug - in found nowhere names every place looked in) {
  temp_dir dir;
  auto r = start_in(dir.path(), {"--plugin", "libnowhere.so"});
  CAF_CHECK_EQUAL(r.exit_code, 1);
  auto exe_dir = std::filesystem::canonical(MESH_BIN_DIR).string();
  auto installed = exe_dir.substr(0, exe_dir.rfind('/')) + "/lib/mesh/plugins";
  // Our own folders before the working directory (a library planted there
  // must not stand in for ours).
  check_has(r.err, "plug-in 'libnowhere.so': no such file: looked in "
                       + exe_dir + "/libnowhere.so, " + installed
                       + "/libnowhere.so, "
                       + std::filesystem::canonical(dir.path()).string()
                       + "/libnowhere.so, then the dynamic loader's search "
                         "path");
}
