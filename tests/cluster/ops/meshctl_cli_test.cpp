#define CAF_SUITE cluster.meshctl_cli
#include "check.hpp"
#include <caf/test/unit_test.hpp>

// meshctl as a thin HTTP client, as a new user meets it: global flags
// anywhere, one JSON envelope for every outcome, --version, unknown
// commands, distinct exit codes (2 usage, 3 unreachable, 5 timeout), the
// peer port named as the mistake it is, help, completion, and human output
// that is never raw JSON.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "process.hpp"
#include "protocol/version.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

// meshctl with exactly these arguments (no --node or --json added).
run_result ctl(std::vector<std::string> args, std::vector<std::string> env = {},
               std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), bin("meshctl"));
  return mesh::run_to_completion(mesh::spawn_options{args, env, {}, false},
                                 timeout);
}

// A port nothing listens on: bound once by us, then closed.
std::string closed_address() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  CAF_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CAF_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  CAF_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// The whole of stdout as the envelope; fails when it is anything else.
json envelope_of(const run_result& r) {
  auto doc = json::parse(r.out, nullptr, false);
  MESH_CHECK_MSG(doc.is_object(), "not one JSON object: out='"
                                      << r.out << "' err='" << r.err << "'");
  if (!doc.is_object())
    return json::object();
  for (const auto& [key, value] : doc.items())
    MESH_CHECK_MSG(key == "ok" || key == "status" || key == "code"
                       || key == "result" || key == "error",
                   "unexpected key '" << key << "' in " << r.out);
  CAF_CHECK(doc["ok"].is_boolean());
  CAF_CHECK(doc["status"].is_string());
  CAF_CHECK(doc["code"].is_number_integer());
  return doc;
}

bool has(const std::string& text, const std::string& phrase) {
  return text.find(phrase) != std::string::npos;
}

// A node with the test plug-in and a record dispatcher "rec" on "orders.>".
std::vector<std::string> node_args(const temp_dir& dir) {
  json cfg{{"listen", "127.0.0.1:0"},
           {"console", "127.0.0.1:0"},
           {"plugins", json::array({bin("libmesh_test_handlers.so")})},
           {"namespaces", json::array({"test"})},
           {"topics",
            {{"dispatchers", json::array({{{"id", "rec"},
                                           {"kind", "record"},
                                           {"category", "event"}}})},
             {"routes", json::array({{{"id", "orders"},
                                      {"pattern", "orders.>"},
                                      {"category", "event"},
                                      {"dispatcher", "rec"}}})}}}};
  return {"--config",   dir.write("cli.json", cfg.dump()),
          "--id",       "cli",
          "--data-dir", dir.file("data")};
}

struct fixture {
  temp_dir dir;
  node_process node{node_args(dir)};
};

} // namespace

CAF_TEST(version and unknown commands and bad addresses need no node) {
  auto version = ctl({"--version"});
  CAF_CHECK_EQUAL(version.exit_code, 0);
  CAF_CHECK_EQUAL(version.out,
                  std::string{"meshctl "} + mesh::mesh_version + "\n");
  auto typo = ctl({"stat", "--node", closed_address()});
  CAF_CHECK_EQUAL(typo.exit_code, 2);
  MESH_CHECK_MSG(has(typo.err, "unknown command 'stat'")
                     && has(typo.err, "did you mean 'status'?"),
                 typo.err);
  for (auto bad : {"nonsense", "127.0.0.1", "host:port", "127.0.0.1:99999"}) {
    auto r = ctl({"status", "--node", bad});
    CAF_CHECK_EQUAL(r.exit_code, 2);
    MESH_CHECK_MSG(has(r.err, "is not HOST:PORT"), bad << ": " << r.err);
  }
  auto from_env = ctl({"status"}, {"MESH_NODE=nonsense"});
  CAF_CHECK_EQUAL(from_env.exit_code, 2);
}

CAF_TEST(an unreachable node is exit 3 with the envelope under-- json) {
  auto address = closed_address();
  for (auto flags : {std::vector<std::string>{"--json"},
                     std::vector<std::string>{"-o", "json"}}) {
    auto args = std::vector<std::string>{"status", "--node", address};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = ctl(args);
    CAF_CHECK_EQUAL(r.exit_code, 3);
    auto doc = envelope_of(r);
    CAF_CHECK_EQUAL(doc["ok"], false);
    CAF_CHECK_EQUAL(doc["status"], "unavailable");
    CAF_CHECK_EQUAL(doc["code"], 14);
    MESH_CHECK_MSG(has(doc.value("error", ""), "cannot connect to " + address),
                   r.out);
  }
  // Without --json: one line on stderr, nothing on stdout.
  auto human = ctl({"status", "--node", address});
  CAF_CHECK_EQUAL(human.exit_code, 3);
  CAF_CHECK(human.out.empty());
  CAF_CHECK(has(human.err, "cannot connect to " + address));
}

CAF_TEST_FIXTURE_SCOPE(meshctl_cli_tests, fixture)

CAF_TEST(global flags work before and after the command) {
  auto before = ctl({"--node", node.http(), "--json", "status"});
  auto after = ctl({"status", "--node", node.http(), "--json"});
  auto output = ctl(
      {"status", "-o", "json", "--timeout-ms", "5000", "--node", node.http()});
  for (const auto* r : {&before, &after, &output}) {
    CAF_CHECK_EQUAL(r->exit_code, 0);
    auto doc = envelope_of(*r);
    CAF_CHECK_EQUAL(doc["ok"], true);
    CAF_CHECK_EQUAL(doc["code"], 0);
    CAF_CHECK_EQUAL(doc["result"]["id"], "cli");
  }
  // Nested commands take them too; -o table is the human view.
  auto nested
      = ctl({"strategy", "stats", "nope", "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(nested.exit_code, 1);
  auto nested_doc = envelope_of(nested);
  CAF_CHECK_EQUAL(nested_doc["ok"], false);
  auto table = ctl({"status", "--node", node.http(), "-o", "table"});
  CAF_CHECK_EQUAL(table.exit_code, 0);
  CAF_CHECK(has(table.out, "id:         cli"));
  // MESH_NODE names the node when --node does not.
  auto env = ctl({"status", "--json"}, {"MESH_NODE=" + node.http()});
  CAF_CHECK_EQUAL(env.exit_code, 0);
}

CAF_TEST(every reply is one envelope and failures keep what is known) {
  auto ok
      = ctl({"dispatch", "test", "Faults", "Echo", "--payload", R"({"n":1})",
             "--trace", "t-cli", "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(ok.exit_code, 0);
  auto doc = envelope_of(ok);
  CAF_CHECK_EQUAL(doc["result"]["handled_by"], "cli");
  CAF_CHECK_EQUAL(doc["result"]["trace_id"], "t-cli");
  auto failed = ctl({"dispatch", "test", "Faults", "Throw", "--trace", "t-bad",
                     "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(failed.exit_code, 1);
  doc = envelope_of(failed);
  CAF_CHECK_EQUAL(doc["status"], "handler_error");
  CAF_CHECK_EQUAL(doc["code"], 2);
  CAF_CHECK_EQUAL(doc["result"]["trace_id"], "t-bad");
  auto published
      = ctl({"publish", "orders.1", "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(published.exit_code, 0);
  doc = envelope_of(published);
  CAF_CHECK_EQUAL(doc["status"], "ok");
  CAF_CHECK_EQUAL(doc["result"]["status"], "success");
  auto nobody
      = ctl({"publish", "nobody.listens", "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(nobody.exit_code, 1);
  doc = envelope_of(nobody);
  CAF_CHECK_EQUAL(doc["status"], "not_found");
  CAF_CHECK_EQUAL(doc["result"]["status"], "no_dispatcher");
}

CAF_TEST(a slow answer is exit 5 and a dead port exit 3) {
  auto slow = ctl({"dispatch", "test", "Faults", "Sleep", "--payload",
                   R"({"ms":3000})", "--timeout-ms", "500", "--node",
                   node.http(), "--json"});
  CAF_CHECK_EQUAL(slow.exit_code, 5);
  auto doc = envelope_of(slow);
  CAF_CHECK_EQUAL(doc["status"], "deadline_exceeded");
  MESH_CHECK_MSG(has(doc.value("error", ""), "within 500 ms"), slow.out);
  CAF_CHECK_LESS(slow.elapsed, 2900ms); // gave up, did not wait it out
  auto dead = ctl({"dispatch", "test", "Faults", "Echo", "--timeout-ms", "500",
                   "--node", closed_address(), "--json"});
  CAF_CHECK_EQUAL(dead.exit_code, 3);
  auto dead_doc = envelope_of(dead);
  CAF_CHECK_EQUAL(dead_doc["status"], "unavailable");
}

CAF_TEST(a deadline past the default timeout is waited for) {
  // 10 s is meshctl's default wait; a request given 14 s is waited for
  // (it used to give up at 10 s, exit 5, while the node still worked).
  auto slow = ctl({"dispatch", "test", "Faults", "Sleep", "--payload",
                   R"({"ms":10500})", "--deadline-ms", "14000", "--node",
                   node.http(), "--json"});
  MESH_CHECK_MSG(slow.exit_code == 0, slow.out << slow.err);
  auto doc = envelope_of(slow);
  CAF_CHECK_EQUAL(doc["status"], "ok");
  CAF_CHECK_GREATER(slow.elapsed, 10000ms);
}

CAF_TEST(the peer port is named as the wrong address) {
  for (const auto& address : {node.listen(), node.console()}) {
    auto r = ctl({"status", "--node", address, "--json"});
    CAF_CHECK_EQUAL(r.exit_code, 3);
    auto text = envelope_of(r).value("error", "");
    MESH_CHECK_MSG(has(text, address
                                 + " did not answer HTTP: is it the "
                                   "node's peer port? meshctl needs the "
                                   "node's HTTP address (the ready "
                                   "line's \"http\")"),
                   text);
  }
  // The node is unharmed and its stdout carried nothing but the ready line.
  CAF_CHECK_EQUAL(ctl({"status", "--node", node.http()}).exit_code, 0);
}

CAF_TEST(human output is tables and text never raw JSON) {
  auto human = [&](std::vector<std::string> args) {
    args.push_back("--node");
    args.push_back(node.http());
    auto r = ctl(args);
    MESH_CHECK_MSG(r.exit_code == 0, args[0] << ": " << r.out << r.err);
    MESH_CHECK_MSG(!r.out.empty() && r.out.front() != '{'
                       && r.out.front() != '[',
                   args[0] << " printed JSON: " << r.out);
    return r.out;
  };
  CAF_CHECK(has(human({"validator", "--allow", "test/*/*"}),
                "validator: allow-list [test/*/*]"));
  human({"validator"});
  human({"publish", "orders.7", "--payload", R"({"id":7})"});
  auto records = human({"records", "rec"});
  CAF_CHECK(has(records, "TOPIC"));
  CAF_CHECK(has(records, "orders.7"));
  CAF_CHECK(
      has(human({"route", "disable", "orders"}), "route orders disabled"));
  CAF_CHECK(has(human({"freeze"}), "frozen"));
}

CAF_TEST(help lists the global flags and environment with examples) {
  for (auto cmd : {std::vector<std::string>{"status", "--help"},
                   std::vector<std::string>{"workflow", "run", "--help"}}) {
    auto r = ctl(cmd);
    CAF_CHECK_EQUAL(r.exit_code, 0);
    for (auto phrase :
         {"--node", "--json", "-o,--output", "--timeout-ms", "--token",
          "MESH_NODE", "MESH_TOKEN", "Examples:", "Exit codes:"})
      MESH_CHECK_MSG(has(r.out, phrase), cmd[0] << " help lacks " << phrase);
  }
}

CAF_TEST(completion bash completes commands and flags) {
  auto script = ctl({"completion", "bash"});
  CAF_CHECK_EQUAL(script.exit_code, 0);
  CAF_CHECK(has(script.out, "complete -F _meshctl meshctl"));
  temp_dir tmp;
  auto file = tmp.write("meshctl.bash", script.out);
  // Bash itself runs the completion: "meshctl stat<TAB>" and
  // "meshctl dispatch --time<TAB>".
  auto complete = [&](const std::string& words, int cword) {
    return run_program({"/bin/bash", "-c",
                        "source '" + file + "'; COMP_WORDS=(" + words
                            + "); COMP_CWORD=" + std::to_string(cword)
                            + "; _meshctl; echo \"${COMPREPLY[*]}\""})
        .out;
  };
  CAF_CHECK_EQUAL(complete("meshctl stat", 1), "status\n");
  CAF_CHECK_EQUAL(complete("meshctl dispatch --time", 2), "--timeout-ms\n");
  CAF_CHECK_EQUAL(complete("meshctl workflow r", 2), "run\n");
}

CAF_TEST(trace prints a timeline of the decisions) {
  auto sent = ctl({"dispatch", "test", "Faults", "Echo", "--trace",
                   "4bf92f3577b34da6a3ce929d0e0e4736", "--node", node.http(),
                   "--json"});
  CAF_REQUIRE_EQUAL(sent.exit_code, 0);
  auto doc = envelope_of(ctl({"trace", "4bf92f3577b34da6a3ce929d0e0e4736",
                              "--node", node.http(), "--json"}));
  MESH_CHECK_MSG(doc.value("ok", false), doc.dump());
  CAF_CHECK(!doc["result"].value("records", json::array()).empty());
  auto table = ctl(
      {"trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--node", node.http()});
  CAF_CHECK_EQUAL(table.exit_code, 0);
  for (auto column : {"NODE", "TIME", "STEP", "DURATION", "DECISION", "cli"})
    MESH_CHECK_MSG(has(table.out, column), table.out);
  auto unknown
      = ctl({"trace", "no-such-trace", "--node", node.http(), "--json"});
  CAF_CHECK_EQUAL(unknown.exit_code, 1);
  auto unknown_doc = envelope_of(unknown);
  CAF_CHECK_EQUAL(unknown_doc["status"], "not_found");
}

CAF_TEST_FIXTURE_SCOPE_END()
