#define CAF_SUITE protocol.safe_json
#include "check.hpp"

#include "protocol/json/json_payload.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"

#include <caf/sec.hpp>

CAF_PUSH_WARNINGS
#include <google/protobuf/any.pb.h>
CAF_POP_WARNINGS

// JSON from outside: every malformed document is an error with a reason
// and a place, never an exception, an abort or unbounded recursion.

using namespace mesh;
using nlohmann::json;

namespace {

std::string nested(size_t depth, const std::string& open = "[",
                   const std::string& close = "]") {
  std::string text;
  for (size_t i = 0; i < depth; ++i)
    text += open;
  text += "1";
  for (size_t i = 0; i < depth; ++i)
    text += close;
  return text;
}

// {"a":{"a":...{"a":1}}}: objects cost protobuf three levels each.
json nested_objects(size_t depth) {
  json doc = 1;
  for (size_t i = 0; i < depth; ++i)
    doc = json{{"a", std::move(doc)}};
  return doc;
}

} // namespace

CAF_TEST(the depth scan counts arrays and objects and skips strings) {
  CAF_CHECK_EQUAL(json_text_depth("1"), 0u);
  CAF_CHECK_EQUAL(json_text_depth(R"({"a":[1,{"b":[]}]})"), 4u);
  CAF_CHECK_EQUAL(json_text_depth(R"({"a":"[[[[\"{{"})"), 1u);
  CAF_CHECK_EQUAL(json_text_depth(nested(1000)), 1000u);
  CAF_CHECK_EQUAL(json_text_depth(nested(1000), 65), 65u);
}

CAF_TEST(deep documents are refused before parsing naming the limit) {
  CAF_CHECK(parse_json(nested(64), 64));
  auto deep = parse_json(nested(65), 64);
  CAF_REQUIRE(!deep);
  CAF_CHECK_EQUAL(to_status_code(deep.error()), status_code::invalid_argument);
  CAF_CHECK(error_text(deep.error()).find("64 levels") != std::string::npos);
  // 100,000 levels: refused in linear time, no recursion anywhere.
  CAF_CHECK(!parse_json(nested(100000, "{\"a\":", "}"), 64));
}

CAF_TEST(numbers out of range and invalid UTF-8 are errors not exceptions) {
  auto big = parse_json(R"({"limits": {"max_hops": 1e400}})");
  CAF_REQUIRE(!big);
  CAF_CHECK(error_text(big.error()).find("1e400") != std::string::npos);
  auto bad = parse_json("{\"a\": \"\xff\xfe\"}");
  CAF_REQUIRE(!bad);
  auto text = error_text(bad.error());
  CAF_CHECK(text.rfind("1:", 0) == 0); // line:column first
  CAF_CHECK(text.find("UTF-8") != std::string::npos);
  // The error itself is valid UTF-8: it can be logged and sent as JSON.
  CAF_CHECK_EQUAL(valid_utf8(text), text);
  json wrapped = json::object();
  wrapped["error"] = text;
  auto reread = json::parse(wrapped.dump());
  CAF_CHECK(reread.at("error").get<std::string>() == text);
  CAF_CHECK(!parse_json(""));
  CAF_CHECK(!parse_json("{\"a\":"));
  CAF_CHECK(!parse_json("[1,]"));
}

CAF_TEST(invalid UTF-8 is replaced when text is made valid or dumped) {
  CAF_CHECK_EQUAL(valid_utf8("ok \xc3\xa9"), "ok \xc3\xa9");
  CAF_CHECK_EQUAL(valid_utf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  CAF_CHECK_EQUAL(valid_utf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd"); // overlong
  CAF_CHECK_EQUAL(valid_utf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  CAF_CHECK_EQUAL(valid_utf8("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd"); // cut short
  json doc{{"x", std::string{"\xff"}}};
  CAF_CHECK_EQUAL(dump_json(doc), "{\"x\":\"\xef\xbf\xbd\"}");
}

CAF_TEST(payloads round-trip up to the depth limit and are refused past it) {
  set_max_json_depth(64);
  for (auto depth : {10u, 50u, 60u, 64u}) {
    auto doc = nested_objects(depth);
    auto back = any_to_json(json_to_any(doc));
    CAF_REQUIRE(back);
    CAF_CHECK_EQUAL(*back, doc);
  }
  auto deep = any_to_json(json_to_any(nested_objects(65)));
  CAF_REQUIRE(!deep);
  CAF_CHECK_EQUAL(to_status_code(deep.error()), status_code::invalid_argument);
  CAF_CHECK(error_text(deep.error()).find("max_json_depth")
            != std::string::npos);
  // A configured limit moves the bound both ways.
  set_max_json_depth(100);
  CAF_CHECK(any_to_json(json_to_any(nested_objects(100))));
  set_max_json_depth(64);
}

CAF_TEST(errors of the actor runtime read as Mesh statuses) {
  caf::error timeout = caf::sec::request_timeout;
  CAF_CHECK_EQUAL(to_status_code(timeout), status_code::deadline_exceeded);
  CAF_CHECK(error_text(timeout).find("system_error") == std::string::npos);
  caf::error down = caf::sec::request_receiver_down;
  CAF_CHECK_EQUAL(to_status_code(down), status_code::unavailable);
  CAF_CHECK(error_text(down).find("not running") != std::string::npos);
  caf::error crash = caf::sec::runtime_error;
  CAF_CHECK_EQUAL(to_status_code(crash), status_code::internal);
  CAF_CHECK(error_text(crash).find("system_error") == std::string::npos);
  caf::error connect = caf::sec::cannot_connect_to_node;
  CAF_CHECK_EQUAL(to_status_code(connect), status_code::unavailable);
  CAF_CHECK(error_text(connect).find("cannot connect") != std::string::npos);
}
