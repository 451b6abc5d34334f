#define CAF_SUITE input_check
#include "check.hpp"

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json.hpp>

#include "actors/processes/input_check.hpp"
#include "config/json_schema.hpp"
#include "protocol/json/json_payload.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

google::protobuf::Value value_of(const json& doc) {
  google::protobuf::Value v;
  json_to_value(doc, v);
  return v;
}

// The fast path never accepts what the full check refuses; returns whether
// it accepted (so a test also sees that it is used).
bool agrees(const json& schema, const json& doc) {
  auto full = json_schema::compile(schema);
  CAF_REQUIRE(full);
  input_check fast{schema};
  auto v = value_of(doc);
  auto accepted = fast.accepts(v);
  auto violations = full->validate(value_to_json(v));
  if (accepted && !violations.empty())
    CAF_FAIL("fast path accepted what the schema refuses: " << schema.dump()
                                                            << " / "
                                                            << doc.dump());
  return accepted;
}

const json quote_schema = json::parse(R"({
  "type": "object", "required": ["sku", "quantity"],
  "properties": {"sku": {"type": "string", "minLength": 2},
                 "quantity": {"type": "integer", "minimum": 1},
                 "tags": {"type": "array", "items": {"type": "string"},
                          "maxItems": 2}},
  "additionalProperties": false})");

} // namespace

CAF_TEST(valid inputs take the fast path) {
  CAF_CHECK(agrees({{"type", "object"}}, {{"data", "x"}}));
  CAF_CHECK(agrees(json::object(), json::array({1, "a"})));
  CAF_CHECK(agrees(quote_schema, {{"sku", "ab"}, {"quantity", 2}}));
  CAF_CHECK(agrees(quote_schema,
                   {{"sku", "ab"}, {"quantity", 2}, {"tags", {"x", "y"}}}));
  CAF_CHECK(agrees({{"type", json::array({"number", "null"})}}, 1.5));
  CAF_CHECK(agrees({{"type", "number"}, {"exclusiveMaximum", 2}}, 1));
}

CAF_TEST(invalid or unsure inputs take the full check) {
  CAF_CHECK(!agrees({{"type", "object"}}, json::array()));
  CAF_CHECK(!agrees(quote_schema, {{"sku", 5}, {"quantity", 0}}));
  CAF_CHECK(!agrees(quote_schema, {{"sku", "ab"}}));
  CAF_CHECK(!agrees(quote_schema, {{"sku", "a"}, {"quantity", 1}}));
  CAF_CHECK(!agrees(quote_schema, {{"sku", "ab"}, {"quantity", 1.5}}));
  CAF_CHECK(!agrees(quote_schema, {{"sku", "ab"}, {"quantity", 1}, {"x", 1}}));
  CAF_CHECK(!agrees(quote_schema,
                    {{"sku", "ab"}, {"quantity", 1}, {"tags", {"a", "b", "c"}}}));
  CAF_CHECK(!agrees({{"type", "number"}, {"exclusiveMaximum", 2}}, 2));
  // Non-ASCII lengths and keywords outside the subset: always the full one.
  CAF_CHECK(!agrees({{"type", "string"}, {"maxLength", 3}}, "\xc3\xa9t\xc3\xa9"));
  CAF_CHECK(!agrees({{"enum", {"a", "b"}}}, "a"));
  CAF_CHECK(!agrees({{"type", "string"}, {"pattern", "^a"}}, "abc"));
  CAF_CHECK(!agrees(false, 1));
}
