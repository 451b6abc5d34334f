#define CAF_SUITE cluster.peer_port
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// A client that takes a node's peer port for its console (the CAF console
// client meshbench uses, or any CAF program) is told, by the node, what it
// reached; the node logs it at warn and its stdout keeps carrying nothing
// but the ready line.

#include <csignal>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "node/os/child_process.hpp"
#include "node/net/console_client.hpp"
#include "process.hpp"
#include "protocol/status.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

CAF_TEST(the console client pointed at the peer port is told what it reached) {
  temp_dir dir;
  // Started by hand, not with node_process: the test reads the node's
  // stdout past its ready line.
  auto child = mesh::child_process::spawn(
      {{bin("meshnode"), "--id", "porty", "--listen", "127.0.0.1:0",
        "--console", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir",
        dir.file("data")},
       {},
       dir.file("node.log"),
       false});
  CAF_REQUIRE(child);
  auto ready = nlohmann::json::parse(child->read_line(60s).value_or(""),
                                     nullptr, false);
  CAF_REQUIRE(!ready.is_discarded() && ready.value("event", "") == "ready");
  auto peer_port = ready["listen"].get<std::string>();
  auto client = mesh::console_client::connect(peer_port);
  CAF_REQUIRE(!client);
  auto text = mesh::error_text(client.error());
  CAF_MESSAGE("console client: " << text);
  for (auto phrase : {"is not a Mesh console",
                      "this is the peer port of node "
                      "porty",
                      "meshctl talks to the node's HTTP address"})
    MESH_CHECK_MSG(text.find(phrase) != std::string::npos,
                   "lacks '" << phrase << "': " << text);
  // Guessed actor ids reach CAF's own actors too, which print what they do
  // not understand (when the stranger's messages arrive before it hangs up:
  // it may take a few tries): into the log, never onto stdout.
  auto log = [&] { return read_text(dir.file("node.log")); };
  CAF_CHECK(await_condition([&] {
    run_program({bin("mesh_stranger"), peer_port, "guess", "20", "nobody"});
    return log().find("*** unexpected message") != std::string::npos;
  }));
  MESH_CHECK_MSG(log().find("peer port of porty refused") != std::string::npos,
                 "no warning in the log: " << log());
  CAF_CHECK_EQUAL(child->signal_and_wait(SIGTERM, 60s).value_or(-1), 0);
  // The ready line was the only line on stdout.
  auto more = child->read_line(5s);
  MESH_CHECK_MSG(!more, "stdout after the ready line: " << more.value_or(""));
  // CAF's prints came out as log lines of the node, not raw.
  std::istringstream lines{log()};
  std::string line;
  while (std::getline(lines, line))
    MESH_CHECK_MSG(line.rfind("***", 0) != 0, "raw CAF print: " << line);
}
