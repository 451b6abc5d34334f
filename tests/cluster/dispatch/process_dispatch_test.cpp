#define CAF_SUITE cluster.process
#include "check.hpp"

#include <csignal>
#include <fstream>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

namespace {

const std::string examples = std::string{MESH_SOURCE_DIR} + "/examples/manifests";

// Node a serves the variants' namespaces but has none of their handlers:
// every variant it picks runs on b.
std::vector<std::string> front_args(const std::string& data_dir,
                                    const std::string& manifests = examples) {
  return {"--id", "a", "--plugin", bin("libmesh_test_handlers.so"),
          "--namespaces", "test,pricing,notify,recommend,orders",
          "--manifests", manifests, "--data-dir", data_dir,
          "--heartbeat-interval-ms", "100"};
}

std::vector<std::string> back_args(const std::string& data_dir,
                                   const std::string& seed) {
  return {"--id", "b", "--manifests", examples, "--data-dir", data_dir,
          "--seeds", seed, "--heartbeat-interval-ms", "100"};
}

json process(const std::string& http, const std::string& name,
             const json& context, const json& args, int exit = 0) {
  return meshctl_json(http, {"process", name, "--context", context.dump(),
                                "--args", args.dump()},
                      exit);
}

json variant_stats(const std::string& http, const std::string& process,
                   const std::string& variant) {
  auto stats = meshctl_json(http, {"strategy", "stats", process});
  for (const auto& row : stats["result"]["variants"])
    if (row.value("variant", "") == variant)
      return row;
  return nullptr;
}

} // namespace

CAF_TEST(a process entered on one node runs its variant on the other) {
  temp_dir da, db;
  node_process a{front_args(da.path())};
  node_process b{back_args(db.path(), a.listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  auto r = process(a.http(), "price_quote", {{"user_id", "u-7"}},
                   {{"sku", "sku-3"}, {"quantity", 12}});
  CAF_CHECK_EQUAL(r.value("status", ""), "ok");
  CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
  CAF_CHECK_EQUAL(result_of(r).value("strategy", ""), "percentage_rollout");
  auto variant = result_of(r).value("variant", "");
  CAF_CHECK(variant == "list_price_v1" || variant == "volume_discount_v2");
  CAF_CHECK(result_of(r).value("reason", "").find("bucket") != std::string::npos);
  auto payload = result_of(r).value("payload", json::object());
  CAF_CHECK_EQUAL(payload.value("quantity", 0), 12);
  // The attribute filter, through the same path.
  auto sms = process(a.http(), "welcome_message", {{"region", "BR"}},
                     {{"user_id", "u-1"}, {"name", "Ana"}});
  CAF_CHECK_EQUAL(result_of(sms).value("variant", ""), "sms");
  auto payload_sms = result_of(sms).value("payload", json::object());
  CAF_CHECK_EQUAL(payload_sms.value("channel", ""), "sms");
  // The decision is in the log with the trace id.
  auto traced = meshctl_json(a.http(),
                             {"process", "welcome_message", "--args",
                              R"({"user_id":"u-2"})", "--trace", "trace-xyz"});
  CAF_CHECK_EQUAL(result_of(traced).value("variant", ""), "email");
  CAF_CHECK(await_condition([&] {
    return a.log().find("trace=trace-xyz process=welcome_message "
                        "strategy=attribute_filter variant=email")
           != std::string::npos;
  }));
}

CAF_TEST(bad input unknown processes and missing keys are refused) {
  temp_dir da;
  node_process a{front_args(da.path())};
  auto bad = process(a.http(), "price_quote", {{"user_id", "u-1"}},
                     {{"sku", "nope"}, {"quantity", 0}}, 1);
  CAF_CHECK_EQUAL(bad.value("status", ""), "invalid_argument");
  auto text = bad.value("error", "");
  CAF_CHECK(text.find("/sku") != std::string::npos);
  CAF_CHECK(text.find("/quantity") != std::string::npos);
  CAF_CHECK_EQUAL(result_of(bad).value("variant", "x"), "");
  auto unknown = process(a.http(), "no_such_process", json::object(),
                         json::object(), 1);
  CAF_CHECK_EQUAL(unknown.value("status", ""), "not_found");
  auto no_key = process(a.http(), "price_quote", {{"region", "EU"}},
                        {{"sku", "sku-1"}, {"quantity", 1}}, 1);
  CAF_CHECK_EQUAL(no_key.value("status", ""), "invalid_argument");
  CAF_CHECK(no_key.value("error", "").find("user_id") != std::string::npos);
  auto bad_json = meshctl(a.http(), {"process", "price_quote", "--args",
                                        "{nope"});
  CAF_CHECK_EQUAL(bad_json.exit_code, 2);
  // No handler for the variant anywhere: the router's answer passes through.
  auto nowhere = process(a.http(), "recommendations", json::object(),
                         {{"user_id", "u-1"}}, 1);
  CAF_CHECK_EQUAL(nowhere.value("status", ""), "not_found");
  CAF_CHECK(!result_of(nowhere).value("variant", "").empty());
}

CAF_TEST(the same key picks the same variant on two nodes) {
  temp_dir da, db;
  node_process a{front_args(da.path())};
  node_process b{back_args(db.path(), a.listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  size_t v2 = 0;
  for (int i = 0; i < 40; ++i) {
    json ctx{{"user_id", "user-" + std::to_string(i)}};
    json args{{"sku", "sku-1"}, {"quantity", 1}};
    auto on_a = process(a.http(), "price_quote", ctx, args);
    auto on_b = process(b.http(), "price_quote", ctx, args);
    auto va = result_of(on_a).value("variant", "");
    auto vb = result_of(on_b).value("variant", "");
    MESH_CHECK_MSG(va == vb, ctx.dump() << ": " << va << " on a, " << vb
                                        << " on b");
    if (va == "volume_discount_v2")
      ++v2;
  }
  CAF_CHECK_LESS(v2, 20u); // a 10 % rollout, not a coin toss
}

CAF_TEST(outcomes on one node change decisions on the other and survive restarts) {
  temp_dir da, db;
  auto a = std::make_unique<node_process>(front_args(da.path()));
  node_process b{back_args(db.path(), a->listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a->http(), {"b"}); }));
  for (int i = 0; i < 15; ++i) {
    meshctl_json(a->http(), {"outcome", "recommendations", "personal",
                                "success"});
    meshctl_json(a->http(), {"outcome", "recommendations", "popular",
                                "failure"});
  }
  CAF_REQUIRE(await_condition([&] {
    return variant_stats(b.http(), "recommendations", "personal")
             .value("successes", 0)
           == 15;
  }));
  size_t personal = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = process(b.http(), "recommendations", {{"user_id", "u"}},
                     {{"user_id", "u-" + std::to_string(i)}});
    CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
    if (result_of(r).value("variant", "") == "personal")
      ++personal;
  }
  // Beta(16,1) against Beta(1,16), with a 5 % floor each: nearly all.
  CAF_CHECK_GREATER_OR_EQUAL(personal, 32u);
  // b's view never counts a's outcomes twice, however often they come.
  auto failures = variant_stats(b.http(), "recommendations", "popular");
  CAF_CHECK_EQUAL(failures.value("failures", 0), 15);
  // a restarts (SIGTERM saves its file) and starts from what it knew.
  CAF_REQUIRE_EQUAL(a->terminate(), 0);
  a.reset();
  node_process again{front_args(da.path())};
  auto kept = variant_stats(again.http(), "recommendations", "personal");
  CAF_CHECK_EQUAL(kept.value("successes", 0), 15);
  auto unknown = meshctl_json(again.http(),
                              {"outcome", "recommendations", "nope", "success"},
                              1);
  CAF_CHECK_EQUAL(unknown.value("status", ""), "not_found");
}

CAF_TEST(bad manifests are reported and reloads keep the last good version) {
  temp_dir dir, data;
  std::ifstream in{examples + "/price_quote.json"};
  auto good = json::parse(in);
  dir.write("price_quote.json", good.dump());
  dir.write("broken.json", "{\"description\": ");
  node_process a{front_args(data.path(), dir.path())};
  auto list = meshctl_json(a.http(), {"manifests"})["result"];
  CAF_REQUIRE_EQUAL(list.size(), 2u);
  CAF_CHECK_EQUAL(list[0].value("process", ""), "broken");
  CAF_CHECK_EQUAL(list[0].value("status", ""), "error (not loaded)");
  CAF_CHECK(list[0].value("error", "").find("broken.json") != std::string::npos);
  // Break the good one: the reload reports it and keeps the last good.
  auto bad = good;
  bad["variants"][1]["weight"] = 0.5;
  dir.write("price_quote.json", bad.dump());
  // A reload with a failed file is an error (exit 1), its report attached.
  auto reloaded = meshctl_json(a.http(), {"manifests", "reload"}, 1);
  CAF_CHECK_EQUAL(reloaded.value("status", ""), "invalid_argument");
  auto report = reloaded["result"];
  CAF_CHECK_EQUAL(report["kept"], json::array({"price_quote"}));
  auto shown = meshctl_json(a.http(), {"manifests", "show", "price_quote"});
  auto errors = shown["result"]["errors"];
  CAF_REQUIRE_EQUAL(errors.size(), 1u);
  CAF_CHECK_EQUAL(errors[0].value("pointer", ""), "/variants");
  CAF_CHECK(errors[0].value("message", "").find("sum") != std::string::npos);
  auto still = process(a.http(), "price_quote", {{"user_id", "u-1"}},
                       {{"sku", "sku-1"}, {"quantity", 1}}, 1);
  CAF_CHECK_NOT_EQUAL(result_of(still).value("variant", ""), ""); // decided, then no handler
  // SIGHUP reloads too: fix both files and signal.
  dir.write("price_quote.json", good.dump());
  std::filesystem::remove(dir.file("broken.json"));
  ::kill(a.pid(), SIGHUP);
  CAF_CHECK(await_condition([&] {
    auto l = meshctl_json(a.http(), {"manifests"})["result"];
    return l.size() == 1 && l[0].value("status", "") == "ok";
  }));
  auto human = meshctl(a.http(), {"manifests"}, true);
  CAF_CHECK(human.out.find("price_quote") != std::string::npos);
  CAF_CHECK(a.running());
}
