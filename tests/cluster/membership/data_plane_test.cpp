#define CAF_SUITE cluster.data_plane
#include "check.hpp"

// Requests between real nodes travel on the data plane's links (issue 16)
// (also those of a caller declared non-blocking, which runs on the plane's
// thread: every answer, when the peer dies too, serving in chunks),
// a link that fails is dialled again (also when the peer refused the first
// request for a token), a stranger at the data port gets nothing, and a
// node with the plane off (or with TLS) keeps everything on BASP.

#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include <httplib.h>

#include "protocol/address.hpp"

#include "caller_run.hpp"
#include "process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

std::vector<std::string> plugin_args(const std::string& id,
                                     const char* plugin,
                                     std::vector<std::string> extra) {
  std::vector<std::string> args{"--id", id, "--plugin", bin(plugin)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The test plug-in's handlers (and its caller, test/Caller/Run).
std::vector<std::string> backend_args(const std::string& id,
                                      std::vector<std::string> extra = {}) {
  return plugin_args(id, "libmesh_test_handlers.so", std::move(extra));
}

// The examples' handlers: echo/EchoService/Echo, which gw does not serve.
std::vector<std::string> echo_args(const std::string& id,
                                   std::vector<std::string> extra) {
  return plugin_args(id, "libmesh_example_handlers.so", std::move(extra));
}

// A gateway declares the namespace but has no handler for it: every request
// it gets runs on a peer.
std::vector<std::string> gateway_args(const std::string& id,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id", id, "--namespaces", "test"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// gw sees b up, and each of them has dialled its link to the other (for
// its own requests).
bool linked(const node_process& gw) {
  return sees(gw.http(), {"b"})
         && router_stats(gw.http()).value("data_plane_links", 0) == 2;
}

// After a failure: gw's link to b is open again, `n` dispatches ride it,
// gw has asked for `redials` links again, and b never went down.
void check_back_on_link(const node_process& gw, int n, int redials) {
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  auto on_links = router_stats(gw.http()).value("data_plane_batches", 0);
  for (int i = 0; i < n; ++i) {
    auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
    CAF_CHECK_EQUAL(r["status"], "ok");
  }
  CAF_CHECK_EQUAL(router_stats(gw.http()).value("data_plane_batches", 0),
                  on_links + n);
  auto status = result_of(meshctl_json(gw.http(), {"status"}));
  CAF_CHECK_EQUAL(status.value("data_links_redialled", 0), redials);
  CAF_CHECK_EQUAL(status.value("peers_up", 0), 1);
}

// True when the node at `address` ("127.0.0.1:port") closes a connection
// that sent `bytes`, within 10 s.
bool refused(const std::string& address, const std::string& bytes) {
  int fd = dial_raw(address);
  if (fd < 0)
    return false;
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  bool closed = closed_by_peer(fd);
  ::close(fd);
  return closed;
}

} // namespace

CAF_TEST(remote dispatches travel on data links and are answered) {
  node_process gw{gateway_args("gw")};
  node_process b{backend_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(!gw.data_plane().empty());
  CAF_REQUIRE(!b.data_plane().empty());
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  for (int i = 0; i < 5; ++i) {
    auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo",
                                      "--payload", "{\"n\": " + std::to_string(i)
                                                     + "}"});
    CAF_CHECK_EQUAL(r["status"], "ok");
    CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
  }
  auto stats = router_stats(gw.http());
  CAF_MESSAGE("gateway router: " << stats.dump());
  CAF_CHECK_EQUAL(stats.value("forwarded", 0), 5);
  CAF_CHECK_EQUAL(stats.value("data_plane_batches", 0),
                  stats.value("batches", -1));
  CAF_CHECK(stats.value("data_plane_batches", 0) >= 1);
  // A handler error comes back the same way, in Mesh's words.
  auto err = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Throw"},
                          1);
  CAF_CHECK_EQUAL(err["status"], "handler_error");
  CAF_CHECK_EQUAL(result_of(err).value("handled_by", ""), "b");
  // The human status says where the batches went.
  auto human = meshctl(gw.http(), {"status"}, true);
  MESH_CHECK_MSG(human.out.find("on 2 data link(s)") != std::string::npos,
                 human.out);
}

CAF_TEST(a caller declared non blocking gets every answer from a peer) {
  node_process gw{backend_args("gw", {"--namespaces", "test,echo"})};
  node_process b{echo_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  for (bool non_blocking : {true, false}) {
    auto before = router_stats(gw.http());
    auto out = run_caller(gw, 3000, 32, non_blocking);
    CAF_MESSAGE("caller: " << out.dump());
    CAF_CHECK_EQUAL(out.value("declared", !non_blocking), non_blocking);
    CAF_CHECK_EQUAL(out.value("answers", 0), 3000);
    CAF_CHECK_EQUAL(out.value("ok", 0), 3000);
    auto after = router_stats(gw.http());
    CAF_CHECK_EQUAL(after.value("forwarded", 0) - before.value("forwarded", 0),
                    3000);
    // A declaration ends with its caller.
    CAF_CHECK(await_condition([&] {
      return router_stats(gw.http()).value("data_plane_callers", -1) == 0;
    }));
    CAF_CHECK(after.value("data_plane_batches", 0)
              > before.value("data_plane_batches", 0));
  }
}

CAF_TEST(a declared caller that blocks is named in the log and counted) {
  node_process gw{backend_args("gw", {"--namespaces", "test,echo"})};
  node_process b{echo_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  // Six answers: the plane runs the caller for one only when it finds the
  // caller idle, which three did not always give (one run in many).
  auto out = run_caller(gw, 6, 1, true, 150);
  CAF_CHECK_EQUAL(out.value("ok", 0), 6); // slow, but every answer came
  CAF_CHECK(router_stats(gw.http()).value("data_plane_stalls", 0) >= 1);
  MESH_CHECK_MSG(gw.log().find("held the plane's thread for")
                   != std::string::npos,
                 gw.log());
  auto human = meshctl(gw.http(), {"status"}, true);
  MESH_CHECK_MSG(human.out.find("its thread held up") != std::string::npos,
                 human.out);
}

CAF_TEST(a declared caller gets one answer per request when the peer dies) {
  node_process gw{backend_args("gw", {"--namespaces", "test,echo"})};
  // b serves gw's batches of 64 in chunks of 16 (cluster.serve_chunk,
  // always: adaptive, two nodes on one CPU would get them whole): it dies
  // with chunks still queued, and each of their requests is answered.
  temp_dir dir;
  auto chunked = dir.write("chunked.json",
                           json{{"cluster", {{"serve_chunk", 16},
                                             {"serve_chunk_adaptive", false}}}}
                             .dump());
  node_process b{echo_args("b", {"--seeds", gw.listen(), "--config", chunked,
                                 "--listen", "127.0.0.1:0", "--console",
                                 "127.0.0.1:0"})};
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  const size_t count = 200000;
  auto pending = std::async(std::launch::async,
                            [&] { return run_caller(gw, count, 64, true); });
  // b dies with requests of the caller in flight.
  CAF_REQUIRE(await_condition([&] {
    return router_stats(b.http()).value("served", 0) > 2000;
  }));
  // The status counts the caller while it runs.
  auto human = meshctl(gw.http(), {"status"}, true);
  MESH_CHECK_MSG(human.out.find("1 caller(s) declared non-blocking")
                   != std::string::npos,
                 human.out);
  b.kill_hard();
  check_one_answer_each(pending.get(), count);
  CAF_CHECK_EQUAL(meshctl_json(gw.http(), {"status"}).value("status", ""),
                  "ok");
}

CAF_TEST(a data link that fails while the peer is up is dialled again) {
  node_process gw{gateway_args("gw"), 60s, true, {"MESH_TEST_INJECT_FAILURES=1"}};
  node_process b{backend_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  auto cut = meshctl_json(gw.http(),
                          {"inject_failure", "--actor", "data links"});
  CAF_CHECK_EQUAL(result_of(cut).value("links", 0), 1);
  // Meanwhile requests go by BASP and are answered.
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
  // gw asks b's ingress for a new token and dials again.
  CAF_REQUIRE(await_condition([&] {
    return gw.log().find("data link to b dialled again") != std::string::npos;
  }));
  CAF_CHECK(gw.log().find("data link to b failed while the peer is up")
            != std::string::npos);
  check_back_on_link(gw, 3, 1);
  auto human = meshctl(gw.http(), {"status"}, true);
  MESH_CHECK_MSG(human.out.find("on 2 data link(s), 1 asked for again after "
                                "a failure")
                   != std::string::npos,
                 human.out);
}

CAF_TEST(a peer that refuses a new data link token is asked again later) {
  std::vector<std::string> inject{"MESH_TEST_INJECT_FAILURES=1"};
  node_process gw{gateway_args("gw"), 60s, true, inject};
  node_process b{backend_args("b", {"--seeds", gw.listen()}), 60s, true,
                 inject};
  CAF_REQUIRE(await_condition([&] { return linked(gw); }));
  // b answers gw's next request for a token with an error, then gw's link
  // to b fails.
  auto refuse = meshctl_json(b.http(),
                             {"inject_failure", "--actor", "data tokens"});
  CAF_CHECK_EQUAL(result_of(refuse).value("refusing", 0), 1);
  auto cut = meshctl_json(gw.http(),
                          {"inject_failure", "--actor", "data links"});
  CAF_CHECK_EQUAL(result_of(cut).value("links", 0), 1);
  // The refusal is logged in Mesh's words, and gw asks again after a wait.
  CAF_REQUIRE(await_condition([&] {
    return gw.log().find("peer b gave no new data-link token")
           != std::string::npos;
  }));
  MESH_CHECK_MSG(gw.log().find("node b refused a data-link token (fault "
                               "injection)")
                   != std::string::npos,
                 gw.log());
  // Meanwhile requests go by BASP and are answered.
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
  CAF_REQUIRE(await_condition([&] {
    return gw.log().find("data link to b dialled again") != std::string::npos;
  }));
  check_back_on_link(gw, 1, 2);
}

CAF_TEST(a stranger at the data port is refused and the node goes on) {
  node_process gw{gateway_args("gw")};
  node_process b{backend_args("b", {"--seeds", gw.listen()})};
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b"}); }));
  // No hello, a made-up token, a request before the hello, a huge frame.
  std::string bad_token("\0\0\0\x21\x01", 5);
  bad_token += std::string(32, 'a');
  std::string early("\0\0\0\x05\x02work", 9);
  std::string huge("\xff\xff\xff\xff\x02", 5);
  CAF_CHECK(refused(b.data_plane(), bad_token));
  CAF_CHECK(refused(b.data_plane(), early));
  CAF_CHECK(refused(b.data_plane(), huge));
  CAF_CHECK(refused(b.data_plane(), "GET / HTTP/1.1\r\n\r\n"));
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK(b.log().find("did not present a valid token") != std::string::npos);
}

CAF_TEST(bad fault injection requests get a clear error) {
  temp_dir dir;
  auto off = dir.write("off.json",
                       json{{"cluster", {{"data_plane", false}}}}.dump());
  node_process n{gateway_args("n", {"--config", off, "--listen",
                                    "127.0.0.1:0", "--console",
                                    "127.0.0.1:0"}),
                 60s, true, {"MESH_TEST_INJECT_FAILURES=1"}};
  auto inject = [&](json actor) {
    json cmd{{"cmd", "inject_failure"}};
    if (!actor.is_null())
      cmd["actor"] = std::move(actor);
    return ask_node(n.http(), cmd);
  };
  // The data-plane faults on a node without one.
  for (const char* name : {"data tokens", "data links"}) {
    auto r = inject(name);
    CAF_CHECK_EQUAL(r.value("status", ""), "not_found");
    MESH_CHECK_MSG(r.value("error", "").find("has no data plane")
                     != std::string::npos,
                   r.dump());
  }
  // Missing, of the wrong type, deeply nested, oversized, unknown.
  json nested = json::array();
  for (int i = 0; i < 200; ++i)
    nested = json::array({nested});
  for (json bad : {json{}, json(7), nested, json(std::string(100000, 'x')),
                   json("data tokens ")}) {
    auto r = inject(bad);
    MESH_CHECK_MSG(r.value("status", "") == "invalid_argument",
                   r.dump().substr(0, 300));
    CAF_CHECK(!r.value("error", "").empty());
  }
  // An unknown name is answered with every name there is.
  auto unknown = inject("no such actor").value("error", "");
  for (const char* listed : {"router", "\"data links\"", "\"data tokens\""})
    MESH_CHECK_MSG(unknown.find(listed) != std::string::npos, unknown);
  // A name that is not UTF-8 (meshctl cannot send one): the body is refused.
  std::string error;
  auto hp = mesh::parse_host_port(n.http(), error);
  CAF_REQUIRE(hp);
  httplib::Client raw{hp->host, hp->port};
  auto res = raw.Post("/v1/inject_failure",
                      "{\"actor\": \"data tok\xff" "ens\"}",
                      "application/json");
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 400);
  auto doc = json::parse(res->body, nullptr, false);
  MESH_CHECK_MSG(!doc.is_discarded() && !doc.value("error", "").empty(),
                 res->body);
  CAF_CHECK_EQUAL(ask_node(n.http(), {{"cmd", "status"}}).value("status", ""),
                  "ok");
}

CAF_TEST(with the data plane off requests go by BASP) {
  temp_dir dir;
  auto off = dir.write("off.json",
                       json{{"cluster", {{"data_plane", false}}}}.dump());
  node_process gw{gateway_args("gw", {"--config", off, "--listen",
                                      "127.0.0.1:0", "--console",
                                      "127.0.0.1:0"})};
  node_process b{backend_args("b", {"--seeds", gw.listen()})};
  CAF_CHECK_EQUAL(gw.data_plane(), "");
  CAF_REQUIRE(await_condition([&] { return sees(gw.http(), {"b"}); }));
  auto r = meshctl_json(gw.http(), {"dispatch", "test", "Faults", "Echo"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  // b offered its port, but gw has no plane to dial from, nor one to offer.
  auto stats = router_stats(gw.http());
  CAF_CHECK_EQUAL(stats.value("data_plane_batches", -1), 0);
  CAF_CHECK(stats.value("batches", 0) >= 1);
  auto back = meshctl_json(b.http(), {"status"});
  CAF_CHECK_EQUAL(
    result_of(back)["router"].value("data_plane_links", -1), 0);
}
