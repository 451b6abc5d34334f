#define CAF_SUITE strategies
#include "check.hpp"

#include <cstdio>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include <google/protobuf/struct.pb.h>

#include "protocol/json/json_payload.hpp"
#include "strategies/bandit_evidence.hpp"
#include "strategies/strategy.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

std::vector<variant> make_variants(std::vector<std::pair<std::string, double>> xs) {
  std::vector<variant> out;
  for (auto& [id, weight] : xs) {
    variant v;
    v.id = id;
    v.path = "ns/" + id + "/Run";
    v.key = {"ns", id, "Run"};
    v.weight = weight;
    v.has_weight = weight >= 0;
    out.push_back(std::move(v));
  }
  return out;
}

// A strategy prepared for `variants`; fails the test on manifest problems.
std::unique_ptr<strategy> prepared(const std::string& name, const json& args,
                                   const std::vector<variant>& variants) {
  auto s = make_strategy(name);
  CAF_REQUIRE(s != nullptr);
  auto problems = s->prepare(args, variants, "proc");
  for (const auto& p : problems)
    CAF_FAIL("unexpected manifest problem " << p.pointer << ": " << p.message);
  return s;
}

std::vector<manifest_problem> problems_of(const std::string& name,
                                          const json& args,
                                          const std::vector<variant>& vs) {
  auto s = make_strategy(name);
  CAF_REQUIRE(s != nullptr);
  return s->prepare(args, vs, "proc");
}

bool mentions(const std::vector<manifest_problem>& ps, const std::string& ptr,
              const std::string& text) {
  for (const auto& p : ps)
    if (p.pointer == ptr && p.message.find(text) != std::string::npos)
      return true;
  return false;
}

struct fixture {
  mesh::decision_rng rng{42};

  decision choose(const strategy& s, const json& context,
                  const std::vector<outcome_counts>* evidence = nullptr) {
    return s.choose({context, rng, evidence});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(strategies_tests, fixture)

CAF_TEST(names and seed script paths find the same strategies) {
  for (const auto& name : strategy_names())
    CAF_CHECK_EQUAL(canonical_strategy_name(name), name);
  CAF_CHECK_EQUAL(canonical_strategy_name(
                    "/optimisation/routing_strategies/percentage_rollout.py"),
                  "percentage_rollout");
  CAF_CHECK_EQUAL(canonical_strategy_name(
                    "/optimisation/routing_strategies/multi_armed_bandit.py"),
                  "thompson_bandit");
  CAF_CHECK_EQUAL(canonical_strategy_name("no_such_strategy"), "");
  CAF_CHECK(make_strategy("no_such_strategy") == nullptr);
}

CAF_TEST(direct picks the first variant) {
  auto vs = make_variants({{"a", -1}, {"b", -1}});
  auto s = prepared("direct", json::object(), vs);
  auto d = choose(*s, {{"user_id", "u1"}});
  CAF_REQUIRE(d.ok());
  CAF_CHECK_EQUAL(d.index, 0u);
}

CAF_TEST(every build agrees with the committed bucket vectors) {
  std::ifstream in{std::string{MESH_SOURCE_DIR} + "/tests/data/bucket_vectors.json"};
  CAF_REQUIRE(in.good());
  auto doc = json::parse(in);
  // The hash itself against published MurmurHash3 values...
  for (const auto& k : doc.at("known_hashes"))
    MESH_CHECK_MSG(murmur3_x86_32(k.at("text").get<std::string>())
                     == k.at("hash").get<uint32_t>(),
                   "murmur3 of '" << k.at("text").get<std::string>() << "'");
  // ...then bucket = (murmur3("<salt>:<key>") * 10000) >> 32.
  size_t checked = 0;
  for (const auto& v : doc.at("vectors")) {
    auto key = v.at("key").get<std::string>();
    auto salt = v.at("salt").get<std::string>();
    auto hash = v.at("hash").get<uint32_t>();
    auto bucket = v.at("bucket").get<uint32_t>();
    MESH_CHECK_MSG(rollout_hash(salt, key) == hash, "hash of " << salt << ":" << key);
    MESH_CHECK_MSG(rollout_bucket(salt, key) == bucket,
                   "bucket of " << salt << ":" << key);
    ++checked;
  }
  CAF_CHECK_GREATER_OR_EQUAL(checked, 20u);
}

CAF_TEST(percentage rollout over 100000 keys is within one point of each weight) {
  auto vs = make_variants({{"v1", 0.7}, {"v2", 0.2}, {"v3", 0.1}});
  auto s = prepared("percentage_rollout", {{"bucketing_key", "user_id"}}, vs);
  std::vector<size_t> counts(3);
  constexpr size_t n = 100000;
  for (size_t i = 0; i < n; ++i) {
    auto d = choose(*s, {{"user_id", "user-" + std::to_string(i)}});
    CAF_REQUIRE(d.ok());
    ++counts[d.index];
  }
  for (size_t i = 0; i < 3; ++i) {
    auto share = static_cast<double>(counts[i]) / n;
    MESH_CHECK_MSG(std::abs(share - vs[i].weight) <= 0.01,
                   vs[i].id << " got " << share << ", weight " << vs[i].weight);
  }
}

CAF_TEST(percentage rollout is sticky and its salt reshuffles) {
  auto vs = make_variants({{"v1", 0.5}, {"v2", 0.5}});
  auto a = prepared("percentage_rollout", {{"bucketing_key", "user_id"}}, vs);
  auto b = prepared("percentage_rollout",
                    {{"bucketing_key", "user_id"}, {"salt", "other"}}, vs);
  size_t moved = 0;
  for (int i = 0; i < 1000; ++i) {
    json ctx{{"user_id", "u" + std::to_string(i)}};
    auto first = choose(*a, ctx);
    CAF_CHECK_EQUAL(choose(*a, ctx).index, first.index);
    if (choose(*b, ctx).index != first.index)
      ++moved;
  }
  // Independent halves: about half the users change variant.
  CAF_CHECK_GREATER(moved, 400u);
  CAF_CHECK_LESS(moved, 600u);
  // Numbers as keys bucket like their text.
  CAF_CHECK_EQUAL(choose(*a, {{"user_id", 42}}).index,
                  choose(*a, {{"user_id", "42"}}).index);
}

CAF_TEST(percentage rollout without the bucketing key names it) {
  auto vs = make_variants({{"v1", 0.5}, {"v2", 0.5}});
  auto s = prepared("percentage_rollout", {{"bucketing_key", "user_id"}}, vs);
  auto d = choose(*s, {{"region", "EU"}});
  CAF_REQUIRE(!d.ok());
  CAF_CHECK(d.error.find("user_id") != std::string::npos);
}

CAF_TEST(percentage rollout rejects weights that do not sum to one) {
  auto bad = make_variants({{"v1", 0.5}, {"v2", 0.4}});
  CAF_CHECK(mentions(problems_of("percentage_rollout",
                                 {{"bucketing_key", "user_id"}}, bad),
                     "/variants", "sum"));
  auto missing = make_variants({{"v1", 1.0}, {"v2", -1}});
  CAF_CHECK(!problems_of("percentage_rollout", {{"bucketing_key", "user_id"}},
                         missing)
               .empty());
  auto ok = make_variants({{"v1", 0.1}, {"v2", 0.2}, {"v3", 0.7}});
  CAF_CHECK(problems_of("percentage_rollout", {{"bucketing_key", "user_id"}},
                        ok)
              .empty());
  CAF_CHECK(mentions(problems_of("percentage_rollout", json::object(), ok),
                     "/strategy/args/bucketing_key", "string"));
}

CAF_TEST(attribute filter takes the first matching rule) {
  auto vs = make_variants({{"berlin", -1}, {"eu", -1}, {"rest", -1}});
  json args{{"rules",
             {{{"attribute", "user_context.city"},
               {"is", "Berlin"},
               {"variant_id", "berlin"}},
              {{"attribute", "user_context.region"},
               {"in", {"EU", "EEA"}},
               {"variant_id", "eu"}}}},
            {"default_variant_id", "rest"}};
  auto s = prepared("attribute_filter", args, vs);
  // Both rules match: the first wins.
  CAF_CHECK_EQUAL(choose(*s, {{"city", "Berlin"}, {"region", "EU"}}).index, 0u);
  CAF_CHECK_EQUAL(choose(*s, {{"city", "Paris"}, {"region", "EEA"}}).index, 1u);
  CAF_CHECK_EQUAL(choose(*s, {{"city", "Paris"}, {"region", "US"}}).index, 2u);
  // Missing attributes match nothing; nested paths and types are exact.
  CAF_CHECK_EQUAL(choose(*s, json::object()).index, 2u);
  CAF_CHECK_EQUAL(choose(*s, {{"city", nullptr}}).index, 2u);
  auto d = choose(*s, {{"region", "EU"}});
  CAF_CHECK_EQUAL(d.index, 1u);
  CAF_CHECK(s->explain(d, vs).find("rule 1") != std::string::npos);
}

CAF_TEST(attribute filter reads nested attributes and typed values) {
  auto vs = make_variants({{"beta", -1}, {"stable", -1}});
  json args{{"rules",
             {{{"attribute", "user_context.account.beta"},
               {"is", true},
               {"variant_id", "beta"}}}},
            {"default_variant_id", "stable"}};
  auto s = prepared("attribute_filter", args, vs);
  CAF_CHECK_EQUAL(choose(*s, {{"account", {{"beta", true}}}}).index, 0u);
  CAF_CHECK_EQUAL(choose(*s, {{"account", {{"beta", "true"}}}}).index, 1u);
  CAF_CHECK_EQUAL(choose(*s, {{"account", 7}}).index, 1u);
}

CAF_TEST(attribute filter rules naming unknown variants are manifest errors) {
  auto vs = make_variants({{"a", -1}, {"b", -1}});
  json bad_rule{{"rules",
                 {{{"attribute", "user_context.x"},
                   {"is", 1},
                   {"variant_id", "nope"}}}},
                {"default_variant_id", "a"}};
  CAF_CHECK(mentions(problems_of("attribute_filter", bad_rule, vs),
                     "/strategy/args/rules/0/variant_id", "nope"));
  json bad_default{{"rules", json::array()}, {"default_variant_id", "zzz"}};
  CAF_CHECK(mentions(problems_of("attribute_filter", bad_default, vs),
                     "/strategy/args/default_variant_id", "zzz"));
  json no_default{{"rules", json::array()}};
  CAF_CHECK(!problems_of("attribute_filter", no_default, vs).empty());
}

CAF_TEST(the bandit favours the better variant and keeps every floor) {
  auto vs = make_variants({{"weak", -1}, {"strong", -1}, {"weakest", -1}});
  auto s = prepared("thompson_bandit", {{"floor", 0.05}}, vs);
  std::vector<double> rate{0.3, 0.6, 0.15}; // strong succeeds twice as often
  std::vector<outcome_counts> evidence(3);
  std::bernoulli_distribution coin;
  std::mt19937_64 world{7};
  std::vector<size_t> late(3);
  constexpr int rounds = 5000;
  for (int i = 0; i < rounds; ++i) {
    auto d = choose(*s, json::object(), &evidence);
    CAF_REQUIRE(d.ok());
    if (std::bernoulli_distribution{rate[d.index]}(world))
      ++evidence[d.index].successes;
    else
      ++evidence[d.index].failures;
    if (i >= rounds - 2000)
      ++late[d.index];
  }
  auto share = [&](size_t i) { return static_cast<double>(late[i]) / 2000; };
  MESH_CHECK_MSG(share(1) > 0.75, "strong got " << share(1));
  for (size_t i : {0u, 2u})
    MESH_CHECK_MSG(share(i) >= 0.035, vs[i].id << " got " << share(i)
                                                << ", below its floor");
}

CAF_TEST(the bandit rejects a floor that exceeds all traffic) {
  auto vs = make_variants({{"a", -1}, {"b", -1}, {"c", -1}});
  CAF_CHECK(mentions(problems_of("thompson_bandit", {{"floor", 0.4}}, vs),
                     "/strategy/args/floor", "exceeds"));
  CAF_CHECK(!problems_of("thompson_bandit", {{"floor", "high"}}, vs).empty());
  CAF_CHECK(!problems_of("thompson_bandit", {{"flor", 0.1}}, vs).empty());
}

CAF_TEST(evidence merges by node and is never counted twice) {
  bandit_evidence a, b;
  a.record("A", "p", "v1", true);
  a.record("A", "p", "v1", false);
  b.record("B", "p", "v1", true);
  CAF_CHECK(a.merge(b));
  CAF_CHECK(b.merge(a));
  // Merging the same views again (and in the other order) changes nothing.
  CAF_CHECK(!a.merge(b));
  CAF_CHECK(!b.merge(a));
  auto ta = a.total("p", "v1");
  auto tb = b.total("p", "v1");
  CAF_CHECK_EQUAL(ta.successes, 2u);
  CAF_CHECK_EQUAL(ta.failures, 1u);
  CAF_CHECK_EQUAL(tb.successes, ta.successes);
  CAF_CHECK_EQUAL(tb.failures, ta.failures);
  // An older view of A's counters does not roll them back.
  bandit_evidence stale;
  stale.record("A", "p", "v1", true);
  CAF_CHECK(!a.merge(stale));
  CAF_CHECK_EQUAL(a.total("p", "v1").successes, 2u);
  // JSON round trip (the file in the data directory).
  bandit_evidence back;
  CAF_REQUIRE(back.from_json(a.to_json()));
  CAF_CHECK_EQUAL(back.total("p", "v1").successes, 2u);
  CAF_CHECK(!back.from_json(json{{"A", 5}}));
}

CAF_TEST(percentage_rollout decides alike from JSON and from protobuf) {
  // The evaluator hands the request's protobuf context as is: every key
  // form must hash and fail exactly as its JSON form does.
  auto vs = make_variants({{"a", 0.3}, {"b", 0.3}, {"c", 0.4}});
  auto s = prepared("percentage_rollout", {{"bucketing_key", "user.id"}}, vs);
  CAF_CHECK(s->reads_context_value());
  std::vector<json> contexts{
    {{"user", {{"id", "u-1"}}}},   {{"user", {{"id", 12345}}}},
    {{"user", {{"id", -7}}}},      {{"user", {{"id", 1.5}}}},
    {{"user", {{"id", 1e300}}}},   {{"user", {{"id", true}}}},
    {{"user", {{"id", {1, 2}}}}},  {{"user", {{"id", {{"k", "v"}}}}}},
    {{"user", {{"id", nullptr}}}}, {{"user", "flat"}},
    json::object()};
  for (const auto& ctx : contexts) {
    google::protobuf::Value v;
    json_to_value(ctx, v);
    auto from_json = s->choose({value_to_json(v), rng, nullptr});
    auto from_value = s->choose({json::object(), rng, nullptr, &v});
    CAF_CHECK_EQUAL(from_json.index, from_value.index);
    CAF_CHECK_EQUAL(from_json.detail, from_value.detail);
    CAF_CHECK_EQUAL(from_json.error, from_value.error);
    if (from_json.ok()) {
      std::string text;
      s->explain_to(from_value, vs, text);
      CAF_CHECK_EQUAL(text, s->explain(from_json, vs));
    }
  }
}

CAF_TEST(explain_to says what explain says) {
  auto vs = make_variants({{"a", -1}, {"b", -1}});
  auto bandit = prepared("thompson_bandit", {{"floor", 0.1}}, vs);
  std::vector<outcome_counts> evidence{{3, 7}, {6, 4}};
  for (int i = 0; i < 50; ++i) {
    auto d = choose(*bandit, json::object(), &evidence);
    std::string text = "x";
    bandit->explain_to(d, vs, text);
    CAF_CHECK_EQUAL(text, "x" + bandit->explain(d, vs));
  }
  auto direct = prepared("direct", json::object(), vs);
  auto d = choose(*direct, json::object());
  std::string text;
  direct->explain_to(d, vs, text);
  CAF_CHECK_EQUAL(text, direct->explain(d, vs));
}

CAF_TEST(the bandit writes its sample with three decimals as printf did) {
  // explain_to rounds in integers; the text stays what "%.3f" wrote, for
  // every sample the bandit can hold (0 to 1 in millionths).
  auto vs = make_variants({{"a", -1}, {"b", -1}});
  auto bandit = prepared("thompson_bandit", {{"floor", 0.1}}, vs);
  size_t differ = 0;
  std::string first_difference;
  for (uint64_t detail = 0; detail <= 1000000; ++detail) {
    decision d{1, decision_kind::sampled, detail, {}};
    char want[32];
    std::snprintf(want, sizeof(want), "%.3f",
                  static_cast<double>(detail) / 1e6);
    std::string text;
    bandit->explain_to(d, vs, text);
    if (text != std::string{"highest posterior sample ("} + want + "): b"
        && differ++ == 0)
      first_difference = std::to_string(detail) + ": " + text + " vs " + want;
  }
  CAF_CHECK_EQUAL(differ, 0u);
  CAF_CHECK_EQUAL(first_difference, "");
}

CAF_TEST_FIXTURE_SCOPE_END()
