#define CAF_SUITE protocol.value_wire
#include <caf/test/unit_test.hpp>

#include <limits>
#include <string>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp"
#include "protocol/value_wire.hpp"

using namespace mesh;
using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;
using nlohmann::json;

namespace {

// Written by serialize_value, read back by protobuf's parser: the same
// value, and as many bytes as protobuf itself would write.
void check_round_trip(const Value& v) {
  std::string bytes;
  serialize_value(v, bytes);
  CAF_CHECK_EQUAL(bytes.size(), v.ByteSizeLong());
  Value back;
  CAF_REQUIRE(back.ParseFromString(bytes));
  CAF_CHECK(MessageDifferencer::Equals(back, v));
}

Value value_of(const json& doc) {
  Value v;
  json_to_value(doc, v);
  return v;
}

} // namespace

CAF_TEST(every kind of value round - trips through protobuf parsing) {
  for (const auto& doc :
       {json(nullptr), json(true), json(false), json(0), json(-0.0), json(2.5),
        json(-1e300), json(""), json("text"), json("caf\u00e9 \u6f22"),
        json::object(), json::array(),
        json{{"id", "u-1"}, {"n", 3}, {"ok", true}},
        json::array({1, "two", nullptr, json::array()})})
    check_round_trip(value_of(doc));
  Value unset; // no kind at all: no bytes, as protobuf writes it
  std::string bytes = "left over";
  serialize_value(unset, bytes);
  CAF_CHECK(bytes.empty());
  Value odd_null; // an enum value a newer peer could send
  odd_null.set_null_value(static_cast<google::protobuf::NullValue>(-5));
  check_round_trip(odd_null);
}

CAF_TEST(lengths of more than one varint byte and nesting are measured) {
  // 300 and 70,000 bytes: two- and three-byte lengths, in a string, a key
  // and around the containers holding them.
  json doc{{"short", "s"},
           {std::string(300, 'k'), std::string(70000, 'v')},
           {"list", json::array({std::string(200, 'x'), 1.5, nullptr})},
           {"deep", {{"a", {{"b", {{"c", json::array({json::object()})}}}}}}}};
  check_round_trip(value_of(doc));
  json nested = "leaf";
  for (int i = 0; i < 40; ++i) // within the parser's depth limit
    nested = (i % 2 == 0) ? json::array({nested, i}) : json{{"k", nested}};
  check_round_trip(value_of(nested));
}

CAF_TEST(numbers keep every bit) {
  for (double d : {0.0, 1.0 / 3.0, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::infinity()}) {
    Value v;
    v.set_number_value(d);
    check_round_trip(v);
  }
}
