#define CAF_SUITE cluster.supervision
#include "check.hpp"

#include "process.hpp"

// An actor of the node that dies (an injected failure) is never silent:
// the node logs which one and why, answers what was waiting, and exits 70
// so that its supervisor restarts it whole; a clean shutdown exits 0.

using namespace mesh::test;
using nlohmann::json;

CAF_TEST(a node whose actor dies says which and exits for a restart) {
  for (const char* actor : {"router", "registry", "connection manager",
                            "strategy evaluator", "topic dispatcher"}) {
    CAF_MESSAGE("killing the " << actor);
    node_process n{{"--plugin", bin("libmesh_example_handlers.so")}, 60s, true,
                   {"MESH_TEST_INJECT_FAILURES=1"}};
    auto r = meshctl_json(n.console(), {"inject_failure", "--actor", actor});
    CAF_CHECK_EQUAL(r["result"]["killed"], actor);
    auto code = n.wait_exit(30s);
    CAF_CHECK_EQUAL(code, 70);
    auto log = n.log();
    CAF_CHECK(log.find(std::string{"the "} + actor + " of node")
              != std::string::npos);
    CAF_CHECK(log.find("stopped unexpectedly") != std::string::npos);
  }
}

CAF_TEST(fault injection is off unless the test environment asks for it) {
  node_process n{{"--plugin", bin("libmesh_example_handlers.so")}};
  auto r = meshctl_json(n.console(), {"inject_failure", "--actor", "router"},
                        1);
  CAF_CHECK_EQUAL(r["status"], "permission_denied");
  CAF_CHECK_EQUAL(n.terminate(), 0);
}
