// Topic matching against 10, 1,000 and 100,000 routes (target: <= 1 us per
// match at 100,000): the route table's match, as a publish runs it (trie
// walk, filters, one entry per dispatcher).

#include <benchmark/benchmark.h>

#include "topics/route_table.hpp"

namespace {

using namespace mesh;

// A third literal ("svcN.events.created"), a third with '*' in the middle
// ("svcN.*.created"), a third with a '>' tail ("svcN.>"); one dispatcher per
// 100 routes.
route_table make_routes(int64_t n) {
  route_table t;
  for (int64_t d = 0; d <= n / 100; ++d)
    t.add_dispatcher({"d" + std::to_string(d), message_category::event, {},
                      "function"});
  for (int64_t i = 0; i < n; ++i) {
    auto svc = "svc" + std::to_string(i / 3);
    std::string pattern;
    switch (i % 3) {
      case 0:
        pattern = svc + ".events.created";
        break;
      case 1:
        pattern = svc + ".*.created";
        break;
      default:
        pattern = svc + ".>";
    }
    t.add_route({"r" + std::to_string(i), pattern, message_category::event,
                 "d" + std::to_string(i / 100), "", true});
  }
  return t;
}

void topic_match(benchmark::State& state) {
  auto table = make_routes(state.range(0));
  // Matches three routes (literal, '*' and '>') of the middle service.
  auto topic = "svc" + std::to_string(state.range(0) / 6) + ".events.created";
  size_t found = 0;
  for (auto _ : state) {
    auto ds = table.match(topic, message_category::event, "");
    found = ds.size();
    benchmark::DoNotOptimize(ds);
  }
  if (found == 0)
    state.SkipWithError("the topic matched nothing");
}
BENCHMARK(topic_match)->Arg(10)->Arg(1000)->Arg(100000);

void topic_no_match(benchmark::State& state) {
  auto table = make_routes(state.range(0));
  for (auto _ : state) {
    auto ds = table.match("billing.invoices.paid", message_category::event, "");
    benchmark::DoNotOptimize(ds);
  }
}
BENCHMARK(topic_no_match)->Arg(10)->Arg(1000)->Arg(100000);

} // namespace
