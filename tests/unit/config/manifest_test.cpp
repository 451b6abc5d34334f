#define CAF_SUITE manifests
#include "check.hpp"

#include <nlohmann/json.hpp>

#include "config/manifests/manifest.hpp"
#include "config/manifests/manifest_set.hpp"
#include "temp_dir.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

json good_manifest() {
  return json::parse(R"({
    "description": "Quote a price",
    "owner": "pricing-team",
    "input_schema": {"type": "object", "required": ["sku"],
                     "properties": {"sku": {"type": "string"}}},
    "strategy": {"path": "percentage_rollout",
                 "args": {"bucketing_key": "user_id"}},
    "variants": [
      {"id": "v1", "path": "pricing/PricingV1/Quote", "weight": 0.75},
      {"id": "v2", "path": "pricing/PricingV2/Quote", "weight": 0.25}
    ]
  })");
}

// The problems of a manifest that must fail; fails the test if it loads.
std::vector<manifest_problem> problems(const json& doc) {
  auto result = parse_manifest(doc, "price_quote", "price_quote.json");
  if (auto* err = std::get_if<manifest_load_error>(&result))
    return err->problems;
  CAF_FAIL("manifest was accepted: " << doc.dump());
  return {};
}

// True if some problem is at `pointer` and mentions `text`.
bool has(const std::vector<manifest_problem>& ps, const std::string& pointer,
         const std::string& text) {
  for (const auto& p : ps)
    if (p.pointer == pointer && p.message.find(text) != std::string::npos)
      return true;
  std::string all;
  for (const auto& p : ps)
    all += " [" + p.pointer + ": " + p.message + "]";
  CAF_MESSAGE("problems:" << all);
  return false;
}

} // namespace

CAF_TEST(a good manifest loads with its variants and strategy) {
  auto result = parse_manifest(good_manifest(), "price_quote", "f.json");
  auto* m = std::get_if<manifest_ptr>(&result);
  CAF_REQUIRE(m != nullptr);
  CAF_CHECK_EQUAL((*m)->name, "price_quote");
  CAF_CHECK_EQUAL((*m)->variants.size(), 2u);
  CAF_CHECK_EQUAL((*m)->variants[1].key.method, "Quote");
  CAF_CHECK_EQUAL(std::string{(*m)->chooser->name()}, "percentage_rollout");
  CAF_CHECK_EQUAL((*m)->index_of("v2"), 1u);
}

CAF_TEST(the seed script path is accepted as the strategy) {
  auto doc = good_manifest();
  doc["strategy"]["path"]
    = "/optimisation/routing_strategies/percentage_rollout.py";
  auto result = parse_manifest(doc, "price_quote", "f.json");
  CAF_CHECK(std::holds_alternative<manifest_ptr>(result));
}

CAF_TEST(schema violations name the pointer) {
  auto doc = good_manifest();
  doc.erase("owner");
  CAF_CHECK(has(problems(doc), "", "owner"));
  doc = good_manifest();
  doc["variants"][0]["weight"] = 1.5;
  CAF_CHECK(has(problems(doc), "/variants/0/weight", ""));
  doc = good_manifest();
  doc["surprise"] = 1;
  CAF_CHECK(!problems(doc).empty());
  doc = good_manifest();
  doc["variants"] = json::array();
  CAF_CHECK(has(problems(doc), "/variants", ""));
}

CAF_TEST(duplicate variant ids are refused) {
  auto doc = good_manifest();
  doc["variants"][1]["id"] = "v1";
  CAF_CHECK(has(problems(doc), "/variants/1/id", "duplicate"));
}

CAF_TEST(weights must sum to one for percentage rollout) {
  auto doc = good_manifest();
  doc["variants"][1]["weight"] = 0.2;
  CAF_CHECK(has(problems(doc), "/variants", "sum"));
  // Within 1e-9 is one.
  doc["variants"][0]["weight"] = 0.1;
  doc["variants"][1]["weight"] = 0.2;
  doc["variants"].push_back(
    {{"id", "v3"}, {"path", "pricing/PricingV3/Quote"}, {"weight", 0.7}});
  CAF_CHECK(std::holds_alternative<manifest_ptr>(
    parse_manifest(doc, "price_quote", "f.json")));
}

CAF_TEST(variant paths must be namespace Service Method) {
  auto doc = good_manifest();
  doc["variants"][0]["path"] = "pricing/PricingV1";
  CAF_CHECK(has(problems(doc), "/variants/0/path", "namespace/Service/Method"));
}

CAF_TEST(unknown strategies and wrong args are refused) {
  auto doc = good_manifest();
  doc["strategy"]["path"] = "/optimisation/routing_strategies/coin_flip.py";
  CAF_CHECK(has(problems(doc), "/strategy/path", "unknown strategy"));
  doc = good_manifest();
  doc["strategy"]["args"] = {{"bucketing_key", 7}};
  CAF_CHECK(has(problems(doc), "/strategy/args/bucketing_key", ""));
  doc = good_manifest();
  doc["strategy"] = {{"path", "attribute_filter"},
                     {"args", {{"rules", json::array()},
                               {"default_variant_id", "v9"}}}};
  CAF_CHECK(has(problems(doc), "/strategy/args/default_variant_id", "v9"));
}

CAF_TEST(the input schema must itself be a valid schema) {
  auto doc = good_manifest();
  doc["input_schema"] = {{"type", "strng"}};
  CAF_CHECK(has(problems(doc), "/input_schema", ""));
  doc["input_schema"] = {{"type", "object"}, {"minLength", -1}};
  CAF_CHECK(has(problems(doc), "/input_schema", ""));
}

CAF_TEST(files that are not JSON name the line) {
  test::temp_dir dir;
  auto path = dir.write("broken.json", "{\n  \"description\": \n}");
  auto result = load_manifest(path);
  auto* err = std::get_if<manifest_load_error>(&result);
  CAF_REQUIRE(err != nullptr);
  CAF_CHECK_EQUAL(err->file, path);
  auto text = err->to_string();
  CAF_CHECK(text.find(path + ":") == 0);
  CAF_CHECK(text.find("3:1: syntax error") != std::string::npos);
}

CAF_TEST(a reload keeps the last good version of a manifest that now fails) {
  test::temp_dir dir;
  dir.write("price_quote.json", good_manifest().dump());
  manifest_set set;
  auto first = set.load(dir.path());
  CAF_CHECK_EQUAL(first["loaded"].size(), 1u);
  auto before = set.find("price_quote");
  CAF_REQUIRE(before != nullptr);
  auto bad = good_manifest();
  bad["variants"][0]["weight"] = 0.1;
  dir.write("price_quote.json", bad.dump());
  dir.write("other.json", "not json");
  auto report = set.load(dir.path());
  CAF_CHECK_EQUAL(report["failed"].size(), 2u);
  CAF_CHECK_EQUAL(report["kept"], json::array({"price_quote"}));
  CAF_CHECK(set.find("price_quote") == before); // still the good one
  CAF_CHECK(set.find("other") == nullptr);
  auto list = set.list();
  CAF_REQUIRE_EQUAL(list.size(), 2u);
  CAF_CHECK_EQUAL(list[1].value("process", ""), "price_quote");
  CAF_CHECK_EQUAL(list[1].value("status", ""),
                  "error (last good version active)");
  CAF_CHECK(list[1].value("error", "").find("/variants") != std::string::npos);
  auto shown = set.show("price_quote");
  CAF_CHECK_EQUAL(shown.value("status", ""), "error");
  CAF_CHECK(shown.contains("manifest"));
  // Fixed: the error goes; removed: the process goes.
  dir.write("price_quote.json", good_manifest().dump());
  set.load(dir.path());
  CAF_CHECK(set.find("price_quote") != before);
  CAF_CHECK(set.show("price_quote").value("status", "") == "ok");
  std::filesystem::remove(dir.file("price_quote.json"));
  auto last = set.load(dir.path());
  CAF_CHECK_EQUAL(last["removed"], json::array({"price_quote"}));
  CAF_CHECK(set.find("price_quote") == nullptr);
}

CAF_TEST(a missing folder is reported and loads nothing) {
  manifest_set set;
  auto report = set.load("/nonexistent/mesh/manifests");
  // One failure naming the folder, as jobs and workflows report it.
  CAF_REQUIRE_EQUAL(report["failed"].size(), 1u);
  CAF_CHECK_EQUAL(report["failed"][0]["file"], "/nonexistent/mesh/manifests");
  CAF_CHECK(set.active().empty());
}

CAF_TEST(every example manifest loads) {
  manifest_set set;
  auto report = set.load(std::string{MESH_SOURCE_DIR} + "/examples/manifests");
  CAF_CHECK_EQUAL(report["failed"].size(), 0u);
  for (const char* name : {"create_order", "price_quote", "welcome_message",
                           "recommendations"})
    MESH_CHECK_MSG(set.find(name) != nullptr, name << " did not load");
}
