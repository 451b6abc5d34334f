#define CAF_SUITE cluster.tls
#include "check.hpp"

#include <sys/socket.h>

#include <future>

#include "caller_run.hpp"
#include "process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

// Mutual TLS between real nodes, with certificates made at test time by
// examples/tls/make-certs.sh (the openssl command).

using namespace mesh::test;
using nlohmann::json;

namespace {

struct tls_fixture {
  mesh::test::temp_dir ours;
  mesh::test::temp_dir foreign;

  tls_fixture() {
    auto script = std::string{MESH_SOURCE_DIR} + "/examples/tls/make-certs.sh";
    auto a = run_program({"/bin/bash", script, ours.path(), "n1", "n2", "n3"});
    CAF_REQUIRE_EQUAL(a.exit_code, 0);
    auto b = run_program({"/bin/bash", script, foreign.path(), "rogue"});
    CAF_REQUIRE_EQUAL(b.exit_code, 0);
  }

  std::vector<std::string>
  args(const std::string& id, const temp_dir& dir,
       const char* plugin = "libmesh_example_handlers.so") const {
    // TLS handshakes are slow under a loaded CI (sanitizers): 2 s before a
    // silent connection counts as lost.
    return {"--id", id, "--plugin", bin(plugin),
            "--heartbeat-interval-ms", "200", "--heartbeat-misses", "10",
            "--tls-certificate", dir.file(id + ".pem"),
            "--tls-key", dir.file(id + ".key"),
            "--tls-ca", dir.file("ca.pem")};
  }

  std::vector<std::string> args(const std::string& id) const {
    return args(id, ours);
  }
};

// Whether `n` sees `peer` and has its two data links (one dialled each
// way) up.
bool linked(const node_process& n, const std::string& peer) {
  return sees(n.http(), {peer})
         && router_stats(n.http()).value("data_plane_links", 0) == 2;
}

std::vector<std::string> plain_args(const std::string& id) {
  return {"--id", id, "--plugin", bin("libmesh_example_handlers.so")};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(tls_tests, tls_fixture)

CAF_TEST(nodes with certificates of one CA form a cluster and route) {
  // TLS and a cluster secret together, as a production cluster runs.
  std::vector<std::string> secret{"MESH_CLUSTER_SECRET=tls-and-a-secret"};
  node_process n1{args("n1"), 60s, true, secret};
  auto seeded = [&](const std::string& id) {
    auto a = args(id);
    a.insert(a.end(), {"--seeds", n1.listen()}); // retried until it joins
    return a;
  };
  node_process n2{seeded("n2"), 60s, true, secret};
  node_process n3{seeded("n3"), 60s, true, secret};
  // Discovery over TLS: n2 and n3 find each other through n1.
  CAF_REQUIRE(await_condition([&] {
    return sees(n1.http(), {"n2", "n3"}) && sees(n2.http(), {"n1", "n3"})
           && sees(n3.http(), {"n1", "n2"});
  }));
  auto r = meshctl_json(n3.http(), {"dispatch", "echo", "EchoService", "Echo",
                                       "--target", "n2", "--payload",
                                       R"({"over":"tls"})"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(r["result"]["handled_by"], "n2");
  // kill -9 of a member: the others notice, and it rejoins when restarted.
  n2.kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(n1.http(), {"n2"}, "down"); }));
  node_process n2b{seeded("n2"), 60s, true, secret};
  CAF_REQUIRE(await_condition([&] {
    return sees(n1.http(), {"n2"}) && sees(n3.http(), {"n2"})
           && sees(n2b.http(), {"n1", "n3"});
  }));
  r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                  "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  // A node with the right certificate but without the secret stays out.
  node_process nosecret{args("n3")};
  auto refused = meshctl_json(nosecret.http(), {"connect", n1.listen()}, 1);
  CAF_CHECK_EQUAL(refused["status"], "permission_denied");
}

CAF_TEST(a node whose certificate another CA signed cannot join) {
  node_process n1{args("n1")};
  node_process rogue{args("rogue", foreign)};
  auto r = meshctl_json(rogue.http(), {"connect", n1.listen()}, 1);
  CAF_CHECK_EQUAL(r["status"], "unavailable");
  CAF_CHECK(r["error"].get<std::string>().find("TLS") != std::string::npos);
  auto back = meshctl_json(n1.http(), {"connect", rogue.listen()}, 1);
  CAF_CHECK_EQUAL(back["status"], "unavailable");
  CAF_CHECK(peers_of(n1.http()).empty());
  CAF_CHECK(peers_of(rogue.http()).empty());
}

CAF_TEST(plaintext and TLS nodes cannot join each other) {
  node_process n1{args("n1")};
  node_process plain{plain_args("plain")};
  auto to_tls = meshctl_json(plain.http(), {"connect", n1.listen()}, 1);
  CAF_CHECK_EQUAL(to_tls["status"], "unavailable");
  auto to_plain = meshctl_json(n1.http(), {"connect", plain.listen()}, 1);
  CAF_CHECK_EQUAL(to_plain["status"], "unavailable");
  CAF_CHECK(peers_of(n1.http()).empty());
  CAF_CHECK(peers_of(plain.http()).empty());
  CAF_CHECK_EQUAL(result_of(meshctl_json(plain.http(), {"status"}))
                    .value("tls", true),
                  false);
}

CAF_TEST(a stranger that says nothing or stops in its handshake is cut off) {
  node_process n1{args("n1")};
  // One connection says nothing; one sends the head of a TLS record (a
  // ClientHello's) and stops. CAF's own OpenSSL transport held both for
  // good.
  std::vector<int> strangers{dial_raw(n1.listen()), dial_raw(n1.listen())};
  CAF_REQUIRE(strangers[0] >= 0 && strangers[1] >= 0);
  std::string record_head("\x16\x03\x01\x02\x00\x01", 6);
  CAF_CHECK_EQUAL(::send(strangers[1], record_head.data(), record_head.size(),
                         MSG_NOSIGNAL),
                  static_cast<ssize_t>(record_head.size()));
  auto start = std::chrono::steady_clock::now();
  // Meanwhile a member joins over TLS and stays.
  auto a2 = args("n2");
  a2.insert(a2.end(), {"--seeds", n1.listen()});
  node_process n2{a2};
  CAF_REQUIRE(await_condition([&] { return sees(n1.http(), {"n2"}); }));
  // Opened after n2's link: once the node closes it, a sweep has run when
  // n2's link was older than 10 s too.
  int canary = dial_raw(n1.listen());
  CAF_REQUIRE(canary >= 0);
  CAF_CHECK_EQUAL(closed_within(strangers, 30s), strangers.size());
  auto took = std::chrono::steady_clock::now() - start;
  CAF_CHECK_GREATER_OR_EQUAL(took, 9s);
  CAF_CHECK_LESS(took, 30s);
  CAF_CHECK_EQUAL(closed_within({canary}, 30s), 1u);
  for (int fd : strangers)
    ::close(fd);
  ::close(canary);
  CAF_CHECK(await_condition([&] {
    return n1.log().find("sent nothing within 10000 ms") != std::string::npos;
  }));
  CAF_CHECK(sees(n1.http(), {"n2"}));
  auto r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                       "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
}

CAF_TEST(a stranger sending garbage to the peer port cuts no member link) {
  node_process n1{args("n1")};
  auto a2 = args("n2");
  a2.insert(a2.end(), {"--seeds", n1.listen()});
  node_process n2{a2};
  CAF_REQUIRE(await_condition([&] { return sees(n1.http(), {"n2"}); }));
  // Each failed handshake left OpenSSL's error queue of the event loop's
  // thread full, and the next read of n2's link that had to wait looked
  // failed: with CAF's own transport, 50 of these cut the link 8 times.
  std::string garbage = "GET / HTTP/1.1\r\nHost: n1\r\n\r\n";
  size_t refused = 0;
  for (int i = 0; i < 100; ++i) {
    int fd = dial_raw(n1.listen());
    CAF_REQUIRE(fd >= 0);
    ::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
    refused += closed_by_peer(fd) ? 1 : 0;
    ::close(fd);
  }
  CAF_CHECK_EQUAL(refused, 100u);
  auto r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                       "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  MESH_CHECK_MSG(n1.log().find("lost connection to peer n2")
                   == std::string::npos,
                 n1.log());
  // A TLS node stops as any other (its TLS transport ends with it).
  CAF_CHECK_EQUAL(n2.terminate(10s), 0);
  CAF_CHECK_EQUAL(n1.terminate(10s), 0);
}

CAF_TEST(requests between TLS nodes travel on TLS data links) {
  node_process n1{args("n1")};
  auto a2 = args("n2");
  a2.insert(a2.end(), {"--seeds", n1.listen()});
  node_process n2{a2};
  CAF_REQUIRE(!n1.data_plane().empty());
  CAF_REQUIRE(!n2.data_plane().empty());
  // Each has dialled its link to the other, through a TLS handshake.
  CAF_REQUIRE(await_condition([&] { return linked(n1, "n2"); }));
  // A payload of many TLS records (16 KiB each), then small ones.
  json big{{"big", std::string(100000, 'x')}};
  auto r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                    "--target", "n2", "--payload", big.dump()});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(result_of(r).value("payload", json{}), big);
  for (int i = 0; i < 5; ++i) {
    r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                 "--target", "n2", "--payload", "{}"});
    CAF_CHECK_EQUAL(r["status"], "ok");
  }
  auto stats = router_stats(n1.http());
  CAF_CHECK_EQUAL(stats.value("data_plane_batches", 0),
                  stats.value("batches", -1));
  CAF_CHECK_GREATER_OR_EQUAL(stats.value("data_plane_batches", 0), 6);
  // The status says so.
  CAF_CHECK_EQUAL(result_of(meshctl_json(n1.http(), {"status"}))
                    .value("tls", false),
                  true);
  auto human = meshctl(n1.http(), {"status"}, true);
  MESH_CHECK_MSG(human.out.find("mutual TLS between nodes")
                   != std::string::npos,
                 human.out);
  // The data port speaks TLS only: a plaintext hello is refused, and so is
  // a client whose certificate another CA signed, in its handshake.
  std::string hello("\0\0\0\x21\x01", 5);
  hello += std::string(32, 'a');
  int fd = dial_raw(n2.data_plane());
  CAF_REQUIRE(fd >= 0);
  ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
  CAF_CHECK(closed_by_peer(fd));
  ::close(fd);
  // (In TLS 1.3 the client is done before the server has checked its
  // certificate, so s_client's exit says nothing: the node's log does.)
  run_program(
    {"/bin/sh", "-c",
     "timeout 10 openssl s_client -connect " + n2.data_plane() + " -cert "
       + foreign.file("rogue.pem") + " -key " + foreign.file("rogue.key")
       + " -CAfile " + ours.file("ca.pem") + " < /dev/null"},
    20s);
  CAF_CHECK(await_condition([&] {
    return n2.log().find("failed its TLS handshake") != std::string::npos;
  }));
  // The members' links are as they were.
  r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                               "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_EQUAL(router_stats(n1.http()).value("data_plane_links", 0), 2);
  CAF_CHECK_EQUAL(n2.terminate(10s), 0);
  CAF_CHECK_EQUAL(n1.terminate(10s), 0);
}

CAF_TEST(a caller gets one answer per request when a TLS peer dies) {
  // n1 runs the test plug-in's caller against the echo n2 serves, 64 at a
  // time on its TLS data link, and n2 is killed with requests in flight.
  auto a1 = args("n1", ours, "libmesh_test_handlers.so");
  a1.insert(a1.end(), {"--namespaces", "test,echo"});
  node_process n1{a1};
  auto a2 = args("n2");
  a2.insert(a2.end(), {"--seeds", n1.listen()});
  node_process n2{a2};
  CAF_REQUIRE(await_condition([&] { return linked(n1, "n2"); }));
  const size_t count = 100000;
  auto pending = std::async(std::launch::async,
                            [&] { return run_caller(n1, count, 64, false); });
  CAF_REQUIRE(await_condition([&] {
    return router_stats(n2.http()).value("served", 0) > 2000;
  }));
  n2.kill_hard();
  check_one_answer_each(pending.get(), count);
  auto stats = router_stats(n1.http());
  CAF_CHECK_GREATER_OR_EQUAL(stats.value("data_plane_batches", 0), 1);
  CAF_CHECK_EQUAL(meshctl_json(n1.http(), {"status"}).value("status", ""),
                  "ok");
}

CAF_TEST(certificates rotated on disk are used for the next connections) {
  node_process n1{args("n1")};
  auto a2 = args("n2");
  a2.insert(a2.end(), {"--seeds", n1.listen()});
  node_process n2{a2};
  CAF_REQUIRE(await_condition([&] { return linked(n1, "n2"); }));
  // The certificate a port of n2's shows a member (n3's certificate).
  auto shown = [&](const std::string& port) {
    return run_program(
             {"/bin/sh", "-c",
              "timeout 10 openssl s_client -connect " + port
                + " -cert " + ours.file("n3.pem") + " -key "
                + ours.file("n3.key") + " -CAfile " + ours.file("ca.pem")
                + " < /dev/null 2> /dev/null"
                  " | openssl x509 -noout -fingerprint -sha256"},
             20s)
      .out;
  };
  auto on_disk = [&] {
    return run_program({"/usr/bin/openssl", "x509", "-noout", "-fingerprint",
                        "-sha256", "-in", ours.file("n2.pem")})
      .out;
  };
  auto old_print = on_disk();
  CAF_REQUIRE(old_print.find("Fingerprint") != std::string::npos);
  CAF_CHECK_EQUAL(shown(n2.data_plane()), old_print);
  CAF_CHECK_EQUAL(shown(n2.listen()), old_print);
  // An operator replaces n2's key and certificate (same CA).
  auto script = std::string{MESH_SOURCE_DIR} + "/examples/tls/make-certs.sh";
  CAF_REQUIRE_EQUAL(run_program({"/bin/bash", script, ours.path(), "n2"})
                      .exit_code,
                    0);
  auto new_print = on_disk();
  CAF_REQUIRE_NOT_EQUAL(new_print, old_print);
  CAF_CHECK_EQUAL(shown(n2.data_plane()), new_print);
  CAF_CHECK_EQUAL(shown(n2.listen()), new_print); // BASP's port
  CAF_CHECK(await_condition([&] {
    return n2.log().find("changed on disk: new data links use them")
           != std::string::npos;
  }));
  // The links up already go on; a node that joins now links with the new
  // certificate, over BASP and the data plane.
  auto r = meshctl_json(n1.http(), {"dispatch", "echo", "EchoService", "Echo",
                                    "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  auto a3 = args("n3");
  a3.insert(a3.end(), {"--seeds", n2.listen()});
  node_process n3{a3};
  CAF_REQUIRE(await_condition([&] {
    return sees(n3.http(), {"n1", "n2"})
           && router_stats(n3.http()).value("data_plane_links", 0) == 4;
  }));
  r = meshctl_json(n3.http(), {"dispatch", "echo", "EchoService", "Echo",
                               "--target", "n2", "--payload", "{}"});
  CAF_CHECK_EQUAL(r["status"], "ok");
  CAF_CHECK_GREATER_OR_EQUAL(
    router_stats(n3.http()).value("data_plane_batches", 0), 1);
}

CAF_TEST(bad TLS files are a configuration error naming the file) {
  auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{bin("meshnode"), "--listen", "127.0.0.1:0",
                                  "--console", "127.0.0.1:0", "--http",
                                  "127.0.0.1:0", "--plugin",
                                  bin("libmesh_example_handlers.so")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_program(argv, 30s);
  };
  // A certificate without its key and CA.
  auto partial = start({"--tls-certificate", ours.file("n1.pem")});
  CAF_CHECK_EQUAL(partial.exit_code, 2);
  CAF_CHECK(partial.err.find("/cluster/tls") != std::string::npos);
  // A key that belongs to another certificate.
  auto mismatch = start({"--tls-certificate", ours.file("n1.pem"), "--tls-key",
                         ours.file("n2.key"), "--tls-ca", ours.file("ca.pem")});
  CAF_CHECK_EQUAL(mismatch.exit_code, 2);
  CAF_CHECK(mismatch.err.find("does not belong") != std::string::npos);
  // A certificate the configured CA did not sign.
  auto foreign_ca = start({"--tls-certificate", ours.file("n1.pem"), "--tls-key",
                           ours.file("n1.key"), "--tls-ca",
                           foreign.file("ca.pem")});
  CAF_CHECK_EQUAL(foreign_ca.exit_code, 2);
  CAF_CHECK(foreign_ca.err.find("not signed") != std::string::npos);
  // A file that is not there.
  auto missing = start({"--tls-certificate", ours.file("nope.pem"), "--tls-key",
                        ours.file("n1.key"), "--tls-ca", ours.file("ca.pem")});
  CAF_CHECK_EQUAL(missing.exit_code, 2);
  CAF_CHECK(missing.err.find("nope.pem") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
