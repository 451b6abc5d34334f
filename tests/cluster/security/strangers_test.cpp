#define CAF_SUITE cluster.strangers
#include "check.hpp"

#include "process.hpp"

// A program that is not a member (tests/strangers/stranger.cpp) reaches a
// node's peer port and console and tries everything the security report
// found open. The node must refuse each, and its peers, handlers and
// counters must be as they were.

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string secret = "s3cret-of-the-cluster";
const std::string token = "console-token-0123456789";

std::vector<std::string> node_args(const std::string& id) {
  return {"--id", id, "--plugin", bin("libmesh_example_handlers.so"),
          "--heartbeat-interval-ms", "100", "--heartbeat-misses", "5"};
}

std::vector<std::string> env(bool with_secret) {
  if (!with_secret)
    return {};
  return {"MESH_CLUSTER_SECRET=" + secret, "MESH_CONSOLE_TOKEN=" + token};
}

// meshctl (and the helpers that run it) read the token from MESH_TOKEN.
struct token_in_environment {
  explicit token_in_environment(const std::string& value) {
    setenv("MESH_TOKEN", value.c_str(), 1);
  }
  ~token_in_environment() {
    unsetenv("MESH_TOKEN");
  }
};

json stranger(const std::string& address, std::vector<std::string> args) {
  std::vector<std::string> argv{bin("mesh_stranger"), address};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv, 90s);
  CAF_REQUIRE_EQUAL(r.exit_code, 0);
  auto out = json::parse(r.out, nullptr, false);
  CAF_REQUIRE(out.is_object());
  return out;
}

// What must not change: the victim's peers, its echo handler's call count,
// and whether it is leaving.
struct snapshot {
  json peers;
  json echo_calls;
  bool leaving = true;
  std::string listen;
};

snapshot take(const node_process& n, const std::string& tok) {
  snapshot s;
  auto peers = peers_of(n.http());
  for (auto& [id, p] : peers.items())
    s.peers[id] = p["state"];
  auto status = meshctl_json(n.http(), {"--token", tok, "status"});
  s.leaving = status["result"]["leaving"].get<bool>();
  s.listen = status["result"]["listen"].get<std::string>();
  auto handlers = meshctl_json(n.http(), {"--token", tok, "handlers"});
  for (auto& h : handlers["result"])
    if (h["handler"] == "echo/EchoService/Echo")
      s.echo_calls = h["stats"]["calls"];
  return s;
}

void check_unchanged(const snapshot& before, const snapshot& after) {
  CAF_REQUIRE(before.echo_calls.is_number());
  CAF_CHECK_EQUAL(before.peers, after.peers);
  CAF_CHECK_EQUAL(before.echo_calls, after.echo_calls);
  CAF_CHECK_EQUAL(after.leaving, false);
  CAF_CHECK_EQUAL(before.listen, after.listen);
}

// Every internal command and request on the peer port is refused.
void attack_peer_port(const node_process& victim, const node_process& other,
                      const std::string& tok) {
  auto before = take(victim, tok);
  for (auto args : std::vector<std::vector<std::string>>{
         {"leave"},
         {"connect", "127.0.0.1:1"},
         {"remove", other.id()},
         {"update", "127.0.0.1:9"},
         {"serve"},
         {"dispatch"}}) {
    auto r = stranger(victim.listen(), args);
    CAF_MESSAGE("stranger " << args[0] << ": " << r.dump());
    CAF_CHECK_EQUAL(r["reached"], true);
    CAF_CHECK_EQUAL(r["status"], "permission_denied");
    CAF_CHECK_EQUAL(r["handle"], false);
  }
  // Guessed handles: every actor id up to 150, each sent the internal
  // commands, a leave in the member's name and requests. Some ids reach
  // real actors (they refuse), none obeys.
  auto guessed = stranger(victim.listen(), {"guess", "150", other.id()});
  CAF_MESSAGE("stranger guess: " << guessed.dump());
  CAF_CHECK_EQUAL(guessed["answered_ok"], 0);
  CAF_CHECK_GREATER(guessed["refused_by_actor"].get<int>(), 0);
  auto after = take(victim, tok);
  check_unchanged(before, after);
  CAF_CHECK(victim.log().find("is leaving") == std::string::npos);
  // Still a working member: a request from its peer runs on it.
  auto r = meshctl_json(other.http(),
                        {"--token", tok, "dispatch", "echo", "EchoService",
                         "Echo", "--target", victim.id(), "--payload",
                         R"({"x":1})"});
  CAF_CHECK_EQUAL(r["status"], "ok");
}

} // namespace

CAF_TEST(a stranger gets nothing done on the peer port of a node with a secret) {
  token_in_environment guard{token};
  node_process victim{node_args("victim"), 60s, true, env(true)};
  node_process member{node_args("member"), 60s, true, env(true)};
  meshctl_json(member.http(), {"--token", token, "connect", victim.listen()});
  CAF_REQUIRE(await_condition([&] {
    return sees(victim.http(), {"member"}) && sees(member.http(), {"victim"});
  }));
  attack_peer_port(victim, member, token);
  // A hello without a proof of the secret: refused, and nothing recorded.
  auto r = stranger(victim.listen(), {"hello"});
  CAF_CHECK_EQUAL(r["status"], "permission_denied");
  CAF_CHECK_EQUAL(r["handle"], false);
  CAF_CHECK(!peers_of(victim.http()).contains("stranger"));
}

CAF_TEST(a stranger gets nothing done on the peer port of a node without one) {
  node_process victim{node_args("victim")};
  node_process member{node_args("member")};
  meshctl_json(member.http(), {"connect", victim.listen()});
  CAF_REQUIRE(await_condition([&] {
    return sees(victim.http(), {"member"}) && sees(member.http(), {"victim"});
  }));
  attack_peer_port(victim, member, "");
}

CAF_TEST(the console refuses every command without the token) {
  token_in_environment guard{token};
  node_process victim{node_args("victim"), 60s, true, env(true)};
  auto before = take(victim, token);
  // meshctl: no token, a wrong one (exit 4), the right one (exit 0).
  auto none = meshctl(victim.http(), {"--token", "", "status"});
  CAF_CHECK_EQUAL(none.exit_code, 4);
  auto wrong = meshctl(victim.http(), {"--token", "not-the-token", "leave"});
  CAF_CHECK_EQUAL(wrong.exit_code, 4);
  CAF_CHECK(json::parse(wrong.out)["status"] == "permission_denied");
  auto right = meshctl(victim.http(), {"--token", token, "status"});
  CAF_CHECK_EQUAL(right.exit_code, 0);
  // The same from a program of our own, and the node's own commands.
  auto cmd = stranger(victim.console(), {"console", "", R"({"cmd":"leave"})"});
  CAF_CHECK_EQUAL(cmd["status"], "permission_denied");
  auto router = stranger(victim.console(), {"router", "wrong-token-123"});
  CAF_CHECK_EQUAL(router["status"], "permission_denied");
  CAF_CHECK_EQUAL(router["handle"], false);
  auto drain = stranger(victim.console(), {"drain"});
  CAF_CHECK_EQUAL(drain["status"], "permission_denied");
  auto leave = stranger(victim.console(), {"leave"});
  CAF_CHECK_NOT_EQUAL(leave["status"], "ok");
  auto after = take(victim, token);
  check_unchanged(before, after);
  // With the token, a binary client gets its door, and nothing more.
  auto ok = stranger(victim.console(), {"router", token});
  CAF_CHECK_EQUAL(ok["handle"], true);
}

CAF_TEST(a console other hosts can reach needs a token to start) {
  auto r = run_program({bin("meshnode"), "--listen", "127.0.0.1:0", "--console",
                        "0.0.0.0:0", "--http", "127.0.0.1:0", "--plugin",
                        bin("libmesh_example_handlers.so")},
                       30s);
  CAF_CHECK_EQUAL(r.exit_code, 2);
  CAF_CHECK(r.err.find("has no token") != std::string::npos);
}
