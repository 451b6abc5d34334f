#define CAF_SUITE pipeline.policy
#include <caf/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "pipeline/policy.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

policy make(std::string name, std::string match) {
  policy p;
  p.name = std::move(name);
  p.match = std::move(match);
  return p;
}

std::vector<std::string> errors_of(const json& list) {
  policy_set out;
  std::vector<std::string> errors;
  CAF_CHECK(!parse_policies(list, "p.json", out, errors));
  return errors;
}

/// The one error of a list holding just `x`.
std::string error_of(json x) {
  auto errors = errors_of(json::array({std::move(x)}));
  CAF_CHECK_EQUAL(errors.size(), 1u);
  return errors.empty() ? std::string{} : errors.front();
}

const char* valid_statuses
  = "handler_error, invalid_argument, deadline_exceeded, not_found, "
    "permission_denied, overloaded, internal, unavailable";

} // namespace

CAF_TEST(a match pattern matches literally or by wildcard) {
  auto p = make("p", "orders/*/Get");
  CAF_CHECK_GREATER(p.score("orders", "Cart", "Get"), 0u);
  CAF_CHECK_EQUAL(p.score("orders", "Cart", "Put"), 0u);
  CAF_CHECK_EQUAL(p.score("billing", "Cart", "Get"), 0u);
  CAF_CHECK_EQUAL(p.score("order", "Cart", "Get"), 0u);
  CAF_CHECK_EQUAL(make("any", "*/*/*").score("a", "b", "c"), 1u);
  CAF_CHECK_EQUAL(make("bad", "orders/*").score("orders", "a", "b"), 0u);
}

CAF_TEST(more literal segments win and the namespace counts first) {
  auto score = [](const char* match) {
    return make("p", match).score("orders", "Cart", "Get");
  };
  // By count of literal segments first...
  CAF_CHECK_GREATER(score("orders/Cart/Get"), score("orders/Cart/*"));
  CAF_CHECK_GREATER(score("*/Cart/Get"), score("orders/*/*"));
  CAF_CHECK_GREATER(score("orders/*/*"), score("*/*/*"));
  // ...then namespace before service before method.
  CAF_CHECK_GREATER(score("orders/Cart/*"), score("orders/*/Get"));
  CAF_CHECK_GREATER(score("orders/*/Get"), score("*/Cart/Get"));
  CAF_CHECK_GREATER(score("orders/*/*"), score("*/Cart/*"));
  CAF_CHECK_GREATER(score("*/Cart/*"), score("*/*/Get"));
}

CAF_TEST(the set picks the most specific policy and the first on ties) {
  policy_set set{{make("all", "*/*/*"), make("svc", "*/Cart/*"),
                  make("ns", "orders/*/*"), make("ns2", "orders/*/*"),
                  make("get", "orders/Cart/Get")}};
  CAF_CHECK_EQUAL(set.match("orders", "Cart", "Get").name, "get");
  CAF_CHECK_EQUAL(set.match("orders", "Cart", "Put").name, "ns");
  CAF_CHECK_EQUAL(set.match("billing", "Cart", "Put").name, "svc");
  CAF_CHECK_EQUAL(set.match("billing", "Pay", "Put").name, "all");
  policy_set narrow{{make("ns", "orders/*/*")}};
  CAF_CHECK_EQUAL(narrow.match("billing", "Pay", "Put").name, "default");
  CAF_CHECK_EQUAL(&narrow.match("billing", "Pay", "Put"),
                  &narrow.default_policy());
}

CAF_TEST(a listed default replaces the built-in one) {
  policy_set builtin;
  CAF_CHECK(builtin.list().empty());
  CAF_CHECK_EQUAL(builtin.default_policy().name, "default");
  CAF_CHECK(!builtin.default_policy().timeout);
  CAF_REQUIRE(builtin.find("default") != nullptr);
  CAF_CHECK(builtin.find("nope") == nullptr);
  auto mine = make("default", "*/*/*");
  mine.timeout = 5s;
  policy_set replaced{{make("ns", "orders/*/*"), mine}};
  CAF_CHECK_EQUAL(replaced.list().size(), 2u);
  CAF_CHECK(replaced.default_policy().timeout == std::optional{5000ms});
  CAF_CHECK(replaced.match("billing", "A", "B").timeout
            == std::optional{5000ms});
  CAF_REQUIRE(replaced.find("default") != nullptr);
  CAF_CHECK(replaced.find("default")->timeout == std::optional{5000ms});
  CAF_CHECK_EQUAL(replaced.find("ns")->match, "orders/*/*");
}

CAF_TEST(retry_on decides what is retried) {
  retry_settings r;
  CAF_CHECK(r.retries(status_code::unavailable));
  CAF_CHECK(r.retries(status_code::overloaded));
  CAF_CHECK(r.retries(status_code::deadline_exceeded));
  CAF_CHECK(!r.retries(status_code::handler_error));
  CAF_CHECK(!r.retries(status_code::ok));
}

CAF_TEST(a full policy parses into every field) {
  auto list = json::parse(R"([{
    "name": "orders", "match": "orders/Cart.v2/*", "timeout_ms": 1500,
    "retry": {"max_attempts": 3, "per_try_timeout_ms": 400,
              "initial_ms": 10, "multiplier": 1.5, "max_ms": 200,
              "jitter": 0, "retry_on": ["unavailable", "internal"]},
    "retry_budget": {"percent": 12.5, "min_concurrency": 0},
    "outlier": {"consecutive_failures": 2, "interval_ms": 1000,
                "base_ejection_ms": 50, "max_ejection_ms": 50,
                "max_ejected_percent": 100},
    "hedging": {"delay_ms": 0, "adaptive": true},
    "hooks": ["audit", "my-hook.v1"],
    "rate_limit": {"per_second": 0.5, "burst": 7}
  }, {"name": "plain"}])");
  policy_set out;
  std::vector<std::string> errors;
  CAF_REQUIRE(parse_policies(list, "p.json", out, errors));
  CAF_CHECK(errors.empty());
  CAF_REQUIRE_EQUAL(out.list().size(), 2u);
  const auto& p = out.list()[0];
  CAF_CHECK_EQUAL(p.name, "orders");
  CAF_CHECK_EQUAL(p.match, "orders/Cart.v2/*");
  CAF_CHECK(p.timeout == std::optional{1500ms});
  CAF_CHECK_EQUAL(p.retry.max_attempts, 3u);
  CAF_CHECK(p.retry.per_try_timeout == 400ms);
  CAF_CHECK(p.retry.initial == 10ms);
  CAF_CHECK_EQUAL(p.retry.multiplier, 1.5);
  CAF_CHECK(p.retry.max == 200ms);
  CAF_CHECK_EQUAL(p.retry.jitter, 0.0);
  CAF_CHECK(p.retry.retry_on
            == (std::vector{status_code::unavailable, status_code::internal}));
  CAF_CHECK_EQUAL(p.retry_budget.percent, 12.5);
  CAF_CHECK_EQUAL(p.retry_budget.min_concurrency, 0u);
  CAF_CHECK_EQUAL(p.outlier.consecutive_failures, 2u);
  CAF_CHECK(p.outlier.interval == 1000ms);
  CAF_CHECK(p.outlier.base_ejection == 50ms);
  CAF_CHECK(p.outlier.max_ejection == 50ms);
  CAF_CHECK_EQUAL(p.outlier.max_ejected_percent, 100u);
  CAF_CHECK(p.hedging.enabled);
  CAF_CHECK(p.hedging.adaptive);
  CAF_CHECK(p.hedging.delay == 0ms);
  CAF_CHECK_EQUAL(p.hooks, (std::vector<std::string>{"audit", "my-hook.v1"}));
  CAF_CHECK_EQUAL(p.rate_limit.per_second, 0.5);
  CAF_CHECK_EQUAL(p.rate_limit.burst, 7u);
  // Missing keys keep the defaults.
  const auto& plain = out.list()[1];
  policy defaults;
  CAF_CHECK_EQUAL(plain.match, "*/*/*");
  CAF_CHECK(!plain.timeout);
  defaults.name = "plain";
  CAF_CHECK_EQUAL(plain.to_json().dump(), defaults.to_json().dump());
  CAF_CHECK(!plain.hedging.enabled);
  CAF_CHECK_EQUAL(out.match("orders", "Cart.v2", "Get").name, "orders");
  CAF_CHECK_EQUAL(out.match("billing", "Cart", "Get").name, "plain");
}

CAF_TEST(to_json shows every field with durations in milliseconds) {
  auto p = make("x", "a/*/*");
  p.timeout = 2s;
  p.retry.max_attempts = 4;
  p.retry.per_try_timeout = 300ms;
  p.retry.initial = 20ms;
  p.retry.multiplier = 1.5;
  p.retry.max = 900ms;
  p.retry.jitter = 0.25;
  p.retry.retry_on = {status_code::unavailable, status_code::internal};
  p.retry_budget = {12.5, 4};
  p.outlier = {6, 2s, 3s, 40s, 33};
  p.hedging = {true, 30ms, false};
  p.hooks = {"audit", "metrics"};
  p.rate_limit = {2.5, 9};
  auto j = p.to_json();
  auto at = [&](const char* ptr) {
    return j.at(json::json_pointer{ptr}).dump();
  };
  CAF_CHECK_EQUAL(at("/name"), R"("x")");
  CAF_CHECK_EQUAL(at("/match"), R"("a/*/*")");
  CAF_CHECK_EQUAL(at("/timeout_ms"), "2000");
  CAF_CHECK_EQUAL(at("/retry/max_attempts"), "4");
  CAF_CHECK_EQUAL(at("/retry/per_try_timeout_ms"), "300");
  CAF_CHECK_EQUAL(at("/retry/initial_ms"), "20");
  CAF_CHECK_EQUAL(at("/retry/multiplier"), "1.5");
  CAF_CHECK_EQUAL(at("/retry/max_ms"), "900");
  CAF_CHECK_EQUAL(at("/retry/jitter"), "0.25");
  CAF_CHECK_EQUAL(at("/retry/retry_on"), R"(["unavailable","internal"])");
  CAF_CHECK_EQUAL(at("/retry_budget/percent"), "12.5");
  CAF_CHECK_EQUAL(at("/retry_budget/min_concurrency"), "4");
  CAF_CHECK_EQUAL(at("/outlier/consecutive_failures"), "6");
  CAF_CHECK_EQUAL(at("/outlier/interval_ms"), "2000");
  CAF_CHECK_EQUAL(at("/outlier/base_ejection_ms"), "3000");
  CAF_CHECK_EQUAL(at("/outlier/max_ejection_ms"), "40000");
  CAF_CHECK_EQUAL(at("/outlier/max_ejected_percent"), "33");
  CAF_CHECK_EQUAL(at("/hedging/enabled"), "true");
  CAF_CHECK_EQUAL(at("/hedging/delay_ms"), "30");
  CAF_CHECK_EQUAL(at("/hedging/adaptive"), "false");
  CAF_CHECK_EQUAL(at("/hooks"), R"(["audit","metrics"])");
  CAF_CHECK_EQUAL(at("/rate_limit/per_second"), "2.5");
  CAF_CHECK_EQUAL(at("/rate_limit/burst"), "9");
  CAF_CHECK_EQUAL(j.size(), 9u);
  CAF_CHECK(make("y", "*/*/*").to_json()["timeout_ms"].is_null());
}

CAF_TEST(a listed default parses into the fallback) {
  policy_set out;
  std::vector<std::string> errors;
  auto list = json::parse(R"([{"name": "default", "timeout_ms": 7}])");
  CAF_REQUIRE(parse_policies(list, "p.json", out, errors));
  CAF_CHECK(out.match("a", "b", "c").timeout == std::optional{7ms});
  CAF_CHECK(out.default_policy().timeout == std::optional{7ms});
}

CAF_TEST(shape errors name the file and the pointer) {
  CAF_CHECK_EQUAL(errors_of(json::object()),
                  std::vector<std::string>{
                    "p.json: /policies: must be an array of policies"});
  CAF_CHECK_EQUAL(error_of(42), "p.json: /policies/0: must be an object");
  CAF_CHECK_EQUAL(error_of(json::object()),
                  "p.json: /policies/0: missing required key \"name\"");
  CAF_CHECK_EQUAL(error_of({{"name", ""}}),
                  "p.json: /policies/0/name: must be a non-empty string");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", 3}}),
                  "p.json: /policies/0/retry: must be an object");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retires", 3}}),
                  "p.json: /policies/0/retires: unknown key \"retires\" "
                  "(valid keys: name, match, timeout_ms, retry, retry_budget, "
                  "outlier, hedging, hooks, rate_limit)");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"outlier", {{"a/b~", 1}}}}),
                  "p.json: /policies/0/outlier/a~1b~0: unknown key \"a/b~\" "
                  "(valid keys: consecutive_failures, interval_ms, "
                  "base_ejection_ms, max_ejection_ms, max_ejected_percent)");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"hooks", "audit"}}),
                  "p.json: /policies/0/hooks: must be an array of hook names");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"hooks", {"audit", "no way"}}}),
                  "p.json: /policies/0/hooks/1: must be a hook name (1 to 64 "
                  "letters, digits, '_', '.' or '-')");
}

CAF_TEST(type and range errors point at the value) {
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"timeout_ms", "5"}}),
                  "p.json: /policies/0/timeout_ms: must be an integer from 1 "
                  "to 2147483647");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"timeout_ms", 0}}),
                  "p.json: /policies/0/timeout_ms: must be an integer from 1 "
                  "to 2147483647, got 0");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"max_attempts", 11}}}}),
                  "p.json: /policies/0/retry/max_attempts: must be an integer "
                  "from 1 to 10, got 11");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"max_attempts", 2.5}}}}),
                  "p.json: /policies/0/retry/max_attempts: must be an integer "
                  "from 1 to 10");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"multiplier", 0.5}}}}),
                  "p.json: /policies/0/retry/multiplier: must be a number >= "
                  "1, got 0.5");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"jitter", 1.5}}}}),
                  "p.json: /policies/0/retry/jitter: must be a number from 0 "
                  "to 1, got 1.5");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"}, {"retry_budget", {{"percent", 101}}}}),
    "p.json: /policies/0/retry_budget/percent: must be a number from 0 to "
    "100, got 101");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"}, {"outlier", {{"max_ejected_percent", -1}}}}),
    "p.json: /policies/0/outlier/max_ejected_percent: must be an integer "
    "from 0 to 100, got -1");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"}, {"rate_limit", {{"per_second", -1}}}}),
    "p.json: /policies/0/rate_limit/per_second: must be a number >= 0, got "
    "-1");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"}, {"hedging", {{"adaptive", "yes"}}}}),
    "p.json: /policies/0/hedging/adaptive: must be true or false");
}

CAF_TEST(rule errors point at the value) {
  CAF_CHECK_EQUAL(errors_of(json::parse(R"([{"name": "a"}, {"name": "b"},
                                            {"name": "a"}])")),
                  std::vector<std::string>{
                    "p.json: /policies/2/name: duplicate policy name \"a\" "
                    "(also /policies/0)"});
  for (auto bad : {"orders/*", "orders//x", "a/b/c/d", "ord ers/*/*",
                   "ord*/*/*", "", "*/*/"})
    CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"match", bad}}),
                    "p.json: /policies/0/match: must be "
                    "\"namespace/Service/Method\": three non-empty segments, "
                    "each * or a name of letters, digits, '_', '.' and '-'");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"},
              {"retry", {{"retry_on", {"unavailable", "bogus"}}}}}),
    std::string{"p.json: /policies/0/retry/retry_on/1: unknown status "
                "\"bogus\" (valid: "}
      + valid_statuses + ")");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"}, {"retry", {{"retry_on", {"ok"}}}}}),
    std::string{"p.json: /policies/0/retry/retry_on/0: unknown status \"ok\" "
                "(valid: "}
      + valid_statuses + ")");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"initial_ms", 2000}}}}),
                  "p.json: /policies/0/retry/initial_ms: initial_ms (2000) "
                  "must not exceed max_ms (1000)");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"retry", {{"max_ms", 10}}}}),
                  "p.json: /policies/0/retry/max_ms: initial_ms (25) must not "
                  "exceed max_ms (10)");
  CAF_CHECK_EQUAL(
    error_of({{"name", "a"},
              {"outlier",
               {{"base_ejection_ms", 500}, {"max_ejection_ms", 100}}}}),
    "p.json: /policies/0/outlier/base_ejection_ms: base_ejection_ms (500) "
    "must not exceed max_ejection_ms (100)");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"hedging", json::object()}}),
                  "p.json: /policies/0/hedging: delay_ms must be greater than "
                  "0 unless adaptive is true");
  CAF_CHECK_EQUAL(error_of({{"name", "a"}, {"hedging", {{"delay_ms", 0}}}}),
                  "p.json: /policies/0/hedging/delay_ms: delay_ms must be "
                  "greater than 0 unless adaptive is true");
}

CAF_TEST(every problem is reported and out stays untouched) {
  policy_set out{{make("keep", "*/*/*")}};
  std::vector<std::string> errors;
  auto list = json::parse(R"([
    {"name": "a", "timeout_ms": -1, "retry": {"jitter": 2, "extra": 1}},
    {"name": "ok", "match": "orders/*/*"},
    {"name": "a", "match": "x"}
  ])");
  CAF_CHECK(!parse_policies(list, "conf/node.json", out, errors));
  CAF_CHECK_EQUAL(
    errors,
    (std::vector<std::string>{
      "conf/node.json: /policies/0/timeout_ms: must be an integer from 1 to "
      "2147483647, got -1",
      "conf/node.json: /policies/0/retry/extra: unknown key \"extra\" (valid "
      "keys: max_attempts, per_try_timeout_ms, initial_ms, multiplier, "
      "max_ms, jitter, retry_on)",
      "conf/node.json: /policies/0/retry/jitter: must be a number from 0 to "
      "1, got 2",
      "conf/node.json: /policies/2/name: duplicate policy name \"a\" (also "
      "/policies/0)",
      "conf/node.json: /policies/2/match: must be "
      "\"namespace/Service/Method\": three non-empty segments, each * or a "
      "name of letters, digits, '_', '.' and '-'",
    }));
  CAF_REQUIRE_EQUAL(out.list().size(), 1u);
  CAF_CHECK_EQUAL(out.list()[0].name, "keep");
  CAF_CHECK(out.find("ok") == nullptr);
}
