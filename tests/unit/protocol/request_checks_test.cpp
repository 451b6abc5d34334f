#define CAF_SUITE actors.request_checks
#include <caf/test/unit_test.hpp>

#include <set>

#include "actors/routing/registry/registry_validator.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/messaging/type_ids.hpp"

using namespace mesh;

namespace {

pb::ServiceRef ref(std::string ns, std::string service, std::string method) {
  pb::ServiceRef r;
  r.set_namespace_(ns);
  r.set_service(service);
  r.set_method(method);
  return r;
}

} // namespace

CAF_TEST(each missing field is named) {
  google::protobuf::Any none;
  auto p = check_request(ref("", "S", "M"), none, 100);
  CAF_CHECK(p.code == status_code::invalid_argument);
  CAF_CHECK_EQUAL(p.message, "namespace is missing");
  CAF_CHECK_EQUAL(check_request(ref("n", "", "M"), none, 100).message,
                  "service is missing");
  CAF_CHECK_EQUAL(check_request(ref("n", "S", ""), none, 100).message,
                  "method is missing");
  CAF_CHECK(!check_request(ref("n", "S", "M"), none, 100));
}

CAF_TEST(an oversized payload is invalid_argument with both sizes) {
  google::protobuf::Any big;
  big.set_value(std::string(200, 'x'));
  auto p = check_request(ref("n", "S", "M"), big, 100);
  CAF_CHECK(p.code == status_code::invalid_argument);
  CAF_CHECK(p.message.find("200 bytes exceeds the limit of 100") != std::string::npos);
}

CAF_TEST(trace ids are 32 hex digits and distinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_trace_id();
    CAF_REQUIRE_EQUAL(id.size(), 32u);
    CAF_CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
  }
  CAF_CHECK_EQUAL(ids.size(), 1000u);
}

CAF_TEST(allow-list patterns match with wildcards) {
  std::string error;
  auto v = allow_list_validator::make({"users/UserService/GetUser",
                                       "orders/*/*", "*/Health/Check"},
                                      error);
  CAF_REQUIRE(v);
  CAF_CHECK(v->validate("users", "UserService", "GetUser").empty());
  CAF_CHECK(!v->validate("users", "UserService", "DeleteUser").empty());
  CAF_CHECK(v->validate("orders", "Any", "Thing").empty());
  CAF_CHECK(v->validate("x", "Health", "Check").empty());
  CAF_CHECK(!v->validate("x", "Health", "Other").empty());
  CAF_CHECK(v->describe().find("orders/*/*") != std::string::npos);
}

CAF_TEST(malformed allow-list patterns are refused) {
  std::string error;
  CAF_CHECK(!allow_list_validator::make({"users/UserService"}, error));
  CAF_CHECK(error.find("namespace/Service/Method") != std::string::npos);
  CAF_CHECK(!allow_list_validator::make({"users/User Service/*"}, error));
  CAF_CHECK(allow_list_validator::make({}, error)); // empty: rejects all
}

CAF_TEST(trace ids a caller chooses are checked before they reach logs
         or headers) {
  CAF_CHECK(check_trace_id("").empty()); // the node makes one
  CAF_CHECK(check_trace_id("4bf92f3577b34da6a3ce929d0e0e4736").empty());
  CAF_CHECK(check_trace_id("order-42.retry_1:a").empty());
  CAF_CHECK(check_trace_id(std::string(max_trace_id_size, 'a')).empty());
  auto long_id = check_trace_id(std::string(max_trace_id_size + 1, 'a'));
  CAF_CHECK(long_id.find("129 characters") != std::string::npos);
  auto newline = check_trace_id("abc\nINFO forged line");
  CAF_CHECK(newline.find("byte 10") != std::string::npos);
  auto accent = check_trace_id("caf\xc3\xa9");
  CAF_CHECK(accent.find("byte 195") != std::string::npos);
  auto space = check_trace_id("a b", "dispatch_id");
  CAF_CHECK(space.find("dispatch_id may hold only") != std::string::npos);
  CAF_CHECK(!check_trace_id("a/b").empty());
  CAF_CHECK(!check_trace_id(std::string_view{"a\0b", 3}).empty());
}
