#define CAF_SUITE cluster.handshake
#include <caf/test/unit_test.hpp>

#include <set>

#include "cluster/security/handshake.hpp"

using namespace mesh;

CAF_TEST(a proof made with the secret is accepted) {
  auto proof = make_secret_proof("s3cret", "hello", "a", "inc-a", "nonce");
  CAF_CHECK_EQUAL(proof.size(), 32u); // HMAC-SHA256
  CAF_CHECK(check_secret_proof("s3cret", proof, "hello", "a", "inc-a", "nonce")
              .empty());
}

CAF_TEST(a wrong secret or a replay with other fields is refused) {
  auto proof = make_secret_proof("s3cret", "hello", "a", "inc-a", "nonce");
  CAF_CHECK_EQUAL(check_secret_proof("other", proof, "hello", "a", "inc-a",
                                     "nonce"),
                  "cluster secret mismatch");
  // The same proof does not work in another role, for another node or nonce.
  CAF_CHECK(!check_secret_proof("s3cret", proof, "welcome", "a", "inc-a",
                                "nonce")
               .empty());
  CAF_CHECK(!check_secret_proof("s3cret", proof, "hello", "b", "inc-a", "nonce")
               .empty());
  CAF_CHECK(!check_secret_proof("s3cret", proof, "hello", "a", "inc-a", "n2")
               .empty());
}

CAF_TEST(a secret on one side only is refused both ways) {
  auto proof = make_secret_proof("s3cret", "hello", "a", "i", "n");
  CAF_CHECK(check_secret_proof("", proof, "hello", "a", "i", "n").find(
              "this node has none")
            != std::string::npos);
  CAF_CHECK(check_secret_proof("s3cret", "", "hello", "a", "i", "n").find(
              "requires one")
            != std::string::npos);
  CAF_CHECK(make_secret_proof("", "hello", "a", "i", "n").empty());
  CAF_CHECK(check_secret_proof("", "", "hello", "a", "i", "n").empty());
}

CAF_TEST(protocol versions must match) {
  CAF_CHECK(check_protocol_version(protocol_version).empty());
  CAF_CHECK(check_protocol_version(protocol_version + 1).find("incompatible")
            == 0);
}

CAF_TEST(both sides derive the same connection id) {
  auto ab = make_connection_id("a", "1", "b", "2");
  auto ba = make_connection_id("b", "2", "a", "1");
  CAF_CHECK_EQUAL(ab, ba);
  CAF_CHECK(ab.find("c-") == 0);
  // A restart (new incarnation) is a new connection.
  CAF_CHECK_NOT_EQUAL(ab, make_connection_id("a", "1", "b", "3"));
}

CAF_TEST(random tokens are hex and distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = random_hex_token();
    CAF_CHECK_EQUAL(t.size(), 32u);
    seen.insert(t);
  }
  CAF_CHECK_EQUAL(seen.size(), 100u);
}
