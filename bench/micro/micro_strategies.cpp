// One strategy decision per iteration, as the strategy evaluator makes it
// per process dispatch (target: <= 100 ns for direct, percentage_rollout
// and attribute_filter). The manifest's args are prepared once, outside.

#include <random>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "strategies/beta_sampler.hpp"
#include "strategies/strategy.hpp"

namespace {

using nlohmann::json;

std::vector<mesh::variant> two_variants() {
  std::vector<mesh::variant> vs(2);
  vs[0].id = "v1";
  vs[0].path = "pricing/PricingV1/Quote";
  vs[0].key = {"pricing", "PricingV1", "Quote"};
  vs[0].weight = 0.9;
  vs[0].has_weight = true;
  vs[1].id = "v2";
  vs[1].path = "pricing/PricingV2/Quote";
  vs[1].key = {"pricing", "PricingV2", "Quote"};
  vs[1].weight = 0.1;
  vs[1].has_weight = true;
  return vs;
}

void run(benchmark::State& state, const char* name, const json& args,
         const json& context,
         const std::vector<mesh::outcome_counts>* evidence = nullptr) {
  auto variants = two_variants();
  auto s = mesh::make_strategy(name);
  if (!s || !s->prepare(args, variants, "bench").empty()) {
    state.SkipWithError("strategy did not prepare");
    return;
  }
  mesh::decision_rng rng{1};
  mesh::decision_input in{context, rng, evidence};
  for (auto _ : state) {
    auto d = s->choose(in);
    benchmark::DoNotOptimize(d.index);
  }
}

void strategy_direct(benchmark::State& state) {
  run(state, "direct", json::object(), {{"user_id", "u-12345"}});
}
BENCHMARK(strategy_direct);

void strategy_percentage_rollout(benchmark::State& state) {
  run(state, "percentage_rollout",
      {{"bucketing_key", "user_id"}, {"salt", "price_quote-2026-11"}},
      {{"user_id", "u-12345"}, {"region", "EU"}});
}
BENCHMARK(strategy_percentage_rollout);

void strategy_attribute_filter(benchmark::State& state) {
  // The second of two rules matches: both are evaluated.
  run(state, "attribute_filter",
      {{"rules",
        {{{"attribute", "user_context.region"},
          {"in", {"IN", "BR", "NG"}},
          {"variant_id", "v2"}},
         {{"attribute", "user_context.account.beta"},
          {"is", true},
          {"variant_id", "v2"}}}},
       {"default_variant_id", "v1"}},
      {{"user_id", "u-12345"},
       {"region", "EU"},
       {"account", {{"beta", true}}}});
}
BENCHMARK(strategy_attribute_filter);

void strategy_thompson_bandit(benchmark::State& state) {
  std::vector<mesh::outcome_counts> evidence{{300, 700}, {600, 400}};
  run(state, "thompson_bandit", {{"floor", 0.05}}, json::object(), &evidence);
}
BENCHMARK(strategy_thompson_bandit);

// One posterior draw of the bandit, Beta(301, 701): the ziggurat-based
// sampler it uses, and the standard library's gammas as the baseline (the
// bandit's draws before; the same distribution).
void beta_draw_ziggurat(benchmark::State& state) {
  mesh::decision_rng rng{1};
  for (auto _ : state)
    benchmark::DoNotOptimize(mesh::detail::beta_draw(rng, 301, 701));
}
BENCHMARK(beta_draw_ziggurat);

void beta_draw_std_gamma(benchmark::State& state) {
  mesh::decision_rng rng{1};
  using gamma = std::gamma_distribution<double>;
  gamma draw;
  for (auto _ : state) {
    auto x = draw(rng, gamma::param_type{301});
    auto y = draw(rng, gamma::param_type{701});
    benchmark::DoNotOptimize(x / (x + y));
  }
}
BENCHMARK(beta_draw_std_gamma);

} // namespace
