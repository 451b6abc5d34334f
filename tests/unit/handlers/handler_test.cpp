#define CAF_SUITE actors.handler
#include <caf/test/unit_test.hpp>

#include <google/protobuf/wrappers.pb.h>

#include "actors/handlers/handler.hpp"
#include "protocol/json/json_payload.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

call_context ctx() {
  call_context c;
  c.key = {"users", "UserService", "GetUser"};
  c.node_id = "node-b";
  c.trace_id = "t1";
  return c;
}

handler_outcome run_json(json_handler fn, const json& in) {
  auto spec = make_json_handler({"users", "UserService", "GetUser"},
                                std::move(fn));
  return run_handler(spec.fn, ctx(), json_to_any(in));
}

} // namespace

CAF_TEST(a value is ok) {
  auto out = run_json([](const call_context&, const json& in) { return in; },
                      json{{"id", 1}});
  CAF_CHECK(out.code == status_code::ok);
  CAF_CHECK_EQUAL(any_to_json(out.payload)->at("id").get<int>(), 1);
}

CAF_TEST(an exception is handler_error naming handler and node and redacted) {
  auto out = run_json(
    [](const call_context&, const json&) -> json {
      throw std::runtime_error("db login failed: password=hunter2");
    },
    nullptr);
  CAF_CHECK(out.code == status_code::handler_error);
  CAF_CHECK(out.message.find("users/UserService/GetUser") != std::string::npos);
  CAF_CHECK(out.message.find("node-b") != std::string::npos);
  CAF_CHECK(out.message.find("db login failed") != std::string::npos);
  CAF_CHECK(out.message.find("hunter2") == std::string::npos);
}

CAF_TEST(non-standard exceptions are caught too) {
  auto out = run_json([](const call_context&, const json&) -> json { throw 42; },
                      nullptr);
  CAF_CHECK(out.code == status_code::handler_error);
  CAF_CHECK(out.message.find("unknown exception") != std::string::npos);
}

CAF_TEST(handler_failure keeps the status the handler chose) {
  auto out = run_json(
    [](const call_context&, const json&) -> json {
      throw handler_failure(status_code::not_found, "no user 'u-9'");
    },
    nullptr);
  CAF_CHECK(out.code == status_code::not_found);
  CAF_CHECK_EQUAL(out.message, "no user 'u-9'");
}

CAF_TEST(a returned error keeps its status) {
  auto spec = make_function_handler(
    {"a", "B", "C"},
    [](const call_context&, const google::protobuf::Any&)
      -> caf::expected<google::protobuf::Any> {
      return make_error(status_code::permission_denied, "token=abc is stale");
    });
  auto out = run_handler(spec.fn, ctx(), {});
  CAF_CHECK(out.code == status_code::permission_denied);
  CAF_CHECK(out.message.find("abc") == std::string::npos);
}

CAF_TEST(a JSON handler given a non-JSON payload is invalid_argument) {
  auto spec = make_json_handler(
    {"a", "B", "C"}, [](const call_context&, const json& in) { return in; });
  google::protobuf::Int32Value v;
  google::protobuf::Any any;
  any.PackFrom(v);
  auto out = run_handler(spec.fn, ctx(), any);
  CAF_CHECK(out.code == status_code::invalid_argument);
  CAF_CHECK(out.message.find("not JSON") != std::string::npos);
}
