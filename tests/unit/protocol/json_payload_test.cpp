#define CAF_SUITE protocol.json_payload
#include <caf/test/unit_test.hpp>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/wrappers.pb.h>

#include <google/protobuf/any.pb.h>
#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp"
#include "protocol/status.hpp"

using namespace mesh;
using nlohmann::json;

CAF_TEST(JSON documents round-trip through Any) {
  std::vector<json> docs = {
    nullptr,
    true,
    42,
    -7,
    2.5,
    "text",
    json::array({1, "two", nullptr, json::array({3})}),
    json{{"id", "u-1"}, {"tags", {"a", "b"}}, {"nested", {{"n", 1}}}},
  };
  for (const auto& doc : docs) {
    auto any = json_to_any(doc);
    CAF_CHECK(any.Is<google::protobuf::Value>());
    CAF_CHECK(is_json_any(any));
    auto back = any_to_json(any);
    CAF_REQUIRE(back);
    CAF_CHECK_EQUAL(back->dump(), doc.dump());
  }
}

CAF_TEST(whole numbers come back as integers) {
  auto back = any_to_json(json_to_any(json{{"count", 3}}));
  CAF_REQUIRE(back);
  CAF_CHECK((*back)["count"].is_number_integer());
  auto fraction = any_to_json(json_to_any(1.5));
  CAF_CHECK(fraction->is_number_float());
}

CAF_TEST(other JSON-like protobuf types convert too) {
  google::protobuf::StringValue s;
  s.set_value("hi");
  google::protobuf::Any any;
  any.PackFrom(s);
  CAF_CHECK_EQUAL(any_to_json(any)->get<std::string>(), "hi");
  google::protobuf::Struct st;
  (*st.mutable_fields())["k"].set_number_value(1);
  any.PackFrom(st);
  CAF_CHECK_EQUAL(any_to_json(any)->at("k").get<int>(), 1);
  CAF_CHECK(any_to_json(google::protobuf::Any{})->is_null());
}

CAF_TEST(a non-JSON payload is invalid_argument naming its type) {
  google::protobuf::Int64Value v;
  v.set_value(5);
  google::protobuf::Any any;
  any.PackFrom(v);
  CAF_CHECK(!is_json_any(any));
  auto result = any_to_json(any);
  CAF_REQUIRE(!result);
  CAF_CHECK(to_status_code(result.error()) == status_code::invalid_argument);
  CAF_CHECK(error_text(result.error()).find("google.protobuf.Int64Value")
            != std::string::npos);
  auto shown = any_to_display_json(any);
  CAF_CHECK_EQUAL(shown["@type"], any.type_url());
  CAF_CHECK_EQUAL(shown["base64"], "CAU="); // varint field 1 = 5
}

CAF_TEST(corrupt JSON bytes are invalid_argument) {
  google::protobuf::Any any;
  any.set_type_url("type.googleapis.com/google.protobuf.Value");
  any.set_value("\xff\xff\xff");
  auto result = any_to_json(any);
  CAF_REQUIRE(!result);
  CAF_CHECK(to_status_code(result.error()) == status_code::invalid_argument);
}
