#define CAF_SUITE transport.data_tls_reload
#include <caf/test/unit_test.hpp>

// Certificates rotated without a restart (tls/data_tls.hpp): the files are
// replaced on disk as an operator would (examples/tls/make-certs.sh again,
// a second CA appended to the CA file), and two sessions made from the
// contexts shake hands over a socket pair, as two planes' links would.

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "cluster/transport/tls/data_tls.hpp"
#include "temp_dir.hpp"

using namespace mesh;

namespace {

void make_certs(const test::temp_dir& dir, const char* nodes,
                const std::string& ca_name = "mesh-example-ca") {
  auto script = std::string{MESH_SOURCE_DIR} + "/examples/tls/make-certs.sh";
  auto cmd = "MESH_CA_NAME=" + ca_name + " /bin/bash '" + script + "' '"
             + dir.path() + "' " + nodes + " > /dev/null 2>&1";
  CAF_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
}

std::shared_ptr<data_tls> context(const test::temp_dir& dir,
                                  const std::string& node) {
  std::string why;
  auto tls = data_tls::make(dir.file(node + ".pem"), dir.file(node + ".key"),
                            dir.file("ca.pem"), "", why);
  CAF_REQUIRE(tls != nullptr);
  return tls;
}

// The certificate in a PEM file (owned by the caller).
X509* certificate_in(const std::string& path) {
  auto* f = std::fopen(path.c_str(), "r");
  CAF_REQUIRE(f != nullptr);
  auto* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  CAF_REQUIRE(x != nullptr);
  return x;
}

struct handshake_result {
  bool ok = false;
  std::string server_note, client_note;
  X509* server_cert = nullptr; ///< what the client was shown (owned)
};

// Two sessions over a socket pair, made from `server` and `client`.
struct session_pair {
  int fds[2] = {-1, -1};
  ssl_st* server = nullptr;
  ssl_st* client = nullptr;
  std::string server_note, client_note;
};

session_pair open_pair(data_tls& server, data_tls& client) {
  session_pair p;
  CAF_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
                                 p.fds),
                    0);
  p.server = server.session(p.fds[0], true, p.server_note);
  p.client = client.session(p.fds[1], false, p.client_note);
  CAF_REQUIRE(p.server != nullptr && p.client != nullptr);
  return p;
}

// The pair's handshake (both non-blocking: steps taken in turn until both
// are done or one fails), a byte each way; the pair is closed after.
handshake_result finish_pair(session_pair& p) {
  handshake_result out;
  out.server_note = p.server_note;
  out.client_note = p.client_note;
  auto* s = p.server;
  auto* c = p.client;
  std::string why;
  auto s_step = tls_step::wants_read, c_step = tls_step::wants_write;
  for (int i = 0; i < 200; ++i) {
    if (c_step != tls_step::done && c_step != tls_step::failed)
      c_step = tls_handshake(c, why);
    if (s_step != tls_step::done && s_step != tls_step::failed)
      s_step = tls_handshake(s, why);
    if (s_step == tls_step::failed || c_step == tls_step::failed)
      break;
    if (s_step == tls_step::done && c_step == tls_step::done) {
      char x = 0;
      out.ok = tls_write(c, "c", 1) == 1 && tls_write(s, "s", 1) == 1
               && tls_read(s, &x, 1) == 1 && x == 'c'
               && tls_read(c, &x, 1) == 1 && x == 's';
      out.server_cert = SSL_get1_peer_certificate(c);
      break;
    }
  }
  free_tls_session(s);
  free_tls_session(c);
  ::close(p.fds[0]);
  ::close(p.fds[1]);
  return out;
}

handshake_result shake(data_tls& server, data_tls& client) {
  auto p = open_pair(server, client);
  return finish_pair(p);
}

bool shown(const handshake_result& r, const std::string& pem) {
  auto* expected = certificate_in(pem);
  bool same = r.server_cert != nullptr
              && X509_cmp(r.server_cert, expected) == 0;
  X509_free(expected);
  return same;
}

struct fixture {
  test::temp_dir dir;
  std::shared_ptr<data_tls> a, b;

  fixture() {
    make_certs(dir, "a b");
    a = context(dir, "a");
    b = context(dir, "b");
  }

  handshake_result a_serves_b() {
    return shake(*a, *b);
  }
};

void release(handshake_result& r) {
  X509_free(r.server_cert);
  r.server_cert = nullptr;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(data_tls_reload_tests, fixture)

CAF_TEST(a certificate replaced on disk is what the next link presents) {
  auto before = a_serves_b();
  CAF_REQUIRE(before.ok);
  auto* old_cert = certificate_in(dir.file("a.pem"));
  CAF_CHECK(shown(before, dir.file("a.pem")));
  CAF_CHECK_EQUAL(before.server_note, "");
  release(before);
  // A link whose session was made before the rotation: its context goes
  // away with the reload below, the session keeps its own reference.
  auto early = open_pair(*a, *b);
  make_certs(dir, "a"); // a new key and certificate, the same CA
  auto after = a_serves_b();
  CAF_REQUIRE(after.ok);
  CAF_CHECK(shown(after, dir.file("a.pem")));
  CAF_CHECK(X509_cmp(after.server_cert, old_cert) != 0);
  CAF_CHECK(after.server_note.find("changed on disk: new data links use")
            != std::string::npos);
  // (b's context may be read again too: make-certs.sh chmods every key,
  // which changes their change time; it reads the same files.)
  release(after);
  auto early_done = finish_pair(early);
  CAF_CHECK(early_done.ok);
  CAF_CHECK(early_done.server_cert != nullptr
            && X509_cmp(early_done.server_cert, old_cert) == 0);
  release(early_done);
  X509_free(old_cert);
  auto again = a_serves_b(); // read once: no note for the next link
  CAF_CHECK(again.ok);
  CAF_CHECK_EQUAL(again.server_note, "");
  release(again);
}

CAF_TEST(files that cannot be used leave the previous certificate in place) {
  auto* old_cert = certificate_in(dir.file("a.pem"));
  // Half a rotation: b's key beside a's certificate.
  {
    std::ifstream in{dir.file("b.key")};
    std::ofstream out{dir.file("a.key"), std::ios::trunc};
    out << in.rdbuf();
  }
  auto during = a_serves_b();
  CAF_CHECK(during.ok);
  CAF_CHECK(during.server_cert != nullptr
            && X509_cmp(during.server_cert, old_cert) == 0);
  CAF_CHECK(during.server_note.find("cannot be used") != std::string::npos);
  CAF_CHECK(during.server_note.find("cannot load the key")
            != std::string::npos);
  release(during);
  auto still = a_serves_b(); // the same files: not read again, no note
  CAF_CHECK(still.ok);
  CAF_CHECK_EQUAL(still.server_note, "");
  release(still);
  make_certs(dir, "a"); // the rotation finished
  auto after = a_serves_b();
  CAF_CHECK(after.ok);
  CAF_CHECK(shown(after, dir.file("a.pem")));
  CAF_CHECK(after.server_note.find("new data links use") != std::string::npos);
  release(after);
  X509_free(old_cert);
}

CAF_TEST(a CA added to the bundle on disk lets its members in) {
  test::temp_dir other;
  make_certs(other, "c", "mesh-next-ca"); // a CA of its own name
  std::string next_ca;
  {
    std::ifstream in{other.file("ca.pem")};
    next_ca.assign(std::istreambuf_iterator<char>{in}, {});
  }
  // c: a member of another CA that trusts a's CA as well as its own.
  {
    std::ofstream bundle{other.file("ca.pem"), std::ios::app};
    std::ifstream ours{dir.file("ca.pem")};
    bundle << ours.rdbuf();
  }
  auto c = context(other, "c");
  auto refused = shake(*a, *c);
  CAF_CHECK(!refused.ok);
  release(refused);
  {
    std::ofstream bundle{dir.file("ca.pem"), std::ios::app};
    bundle << next_ca; // the new CA once
  }
  auto admitted = shake(*a, *c);
  CAF_CHECK(admitted.ok);
  CAF_CHECK(admitted.server_note.find("new data links use")
            != std::string::npos);
  release(admitted);
}

CAF_TEST_FIXTURE_SCOPE_END()
