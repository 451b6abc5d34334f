#define CAF_SUITE config.json_schema
#include <caf/test/unit_test.hpp>

#include "config/json_schema.hpp"
#include "protocol/status.hpp"

using namespace mesh;
using nlohmann::json;

CAF_TEST(valid documents have no violations) {
  auto schema = json_schema::compile(
    json{{"type", "object"},
         {"required", {"id"}},
         {"properties", {{"id", {{"type", "string"}}}}}});
  CAF_REQUIRE(schema);
  CAF_CHECK(schema->validate(json{{"id", "x"}}).empty());
}

CAF_TEST(every violation has a pointer) {
  auto schema = json_schema::compile(json::parse(R"({
    "type": "object",
    "properties": {
      "items": {"type": "array", "items": {"type": "integer"}},
      "a/b": {"type": "string"}
    }
  })"));
  CAF_REQUIRE(schema);
  auto v = schema->validate(json{{"items", {1, "two", 3}}, {"a/b", 1}});
  auto has = [&](const std::string& pointer) {
    for (const auto& x : v)
      if (x.pointer == pointer)
        return true;
    return false;
  };
  CAF_CHECK(has("/items/1"));
  CAF_CHECK(has("/a~1b"));
  CAF_CHECK(to_string(v).find("/items/1: ") != std::string::npos);
}

CAF_TEST(a malformed schema is an error) {
  auto schema = json_schema::compile(json{{"type", 12}});
  CAF_REQUIRE(!schema);
  CAF_CHECK(to_status_code(schema.error()) == status_code::invalid_argument);
  CAF_CHECK(!json_schema::compile(json("not a schema")));
}

CAF_TEST(context paths become JSON pointers) {
  CAF_CHECK_EQUAL(context_to_pointer({"<root>"}), "");
  CAF_CHECK_EQUAL(context_to_pointer({"<root>", "[limits]", "[0]"}),
                  "/limits/0");
  CAF_CHECK_EQUAL(context_to_pointer({"<root>", "[a~b]"}), "/a~0b");
}
