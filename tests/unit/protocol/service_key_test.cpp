#define CAF_SUITE protocol.service_key
#include "check.hpp"
#include <caf/test/unit_test.hpp>

#include <unordered_set>

#include "protocol/mesh.pb.h"
#include "protocol/service_key.hpp"

using namespace mesh;

CAF_TEST(paths parse into three parts) {
  auto key = parse_service_path("users/UserService/GetUser");
  CAF_REQUIRE(key);
  CAF_CHECK_EQUAL(key->ns, "users");
  CAF_CHECK_EQUAL(key->service, "UserService");
  CAF_CHECK_EQUAL(key->method, "GetUser");
  CAF_CHECK_EQUAL(to_string(*key), "users/UserService/GetUser");
}

CAF_TEST(malformed paths are refused) {
  for (auto bad : {"", "users", "users/UserService", "a/b/c/d", "/b/c",
                   "a//c", "a/b/", "a b/c/d", "a/b/c d"})
    MESH_CHECK_MSG(!parse_service_path(bad), "accepted '" << bad << "'");
}

CAF_TEST(names are checked with the field they belong to) {
  CAF_CHECK_EQUAL(check_name("namespace", ""), "namespace is missing");
  CAF_CHECK(check_name("method", "Get User").find("method 'Get User'") == 0);
  CAF_CHECK(check_name("service", std::string(129, 'x')).find("longer") != std::string::npos);
  CAF_CHECK(check_name("service", "User-Service_v2.1").empty());
  CAF_CHECK_EQUAL(check_service_key({"a", "", "c"}), "service is missing");
}

CAF_TEST(one method name on two services is two keys) {
  service_key a{"users", "UserService", "Get"};
  service_key b{"users", "AuthService", "Get"};
  CAF_CHECK(a != b);
  std::unordered_set<service_key> set{a, b};
  CAF_CHECK_EQUAL(set.size(), 2u);
  CAF_CHECK(a < b || b < a);
}

CAF_TEST(keys convert to and from ServiceRef) {
  service_key key{"orders", "OrderService", "CreateOrder"};
  pb::ServiceRef ref;
  to_service_ref(key, ref);
  CAF_CHECK_EQUAL(ref.namespace_(), "orders");
  CAF_CHECK(to_service_key(ref) == key);
}
