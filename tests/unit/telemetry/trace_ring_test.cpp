#define CAF_SUITE telemetry.trace_ring
#include <caf/test/unit_test.hpp>

#include <string>
#include <thread>
#include <vector>

#include "telemetry/trace_ring.hpp"

using namespace mesh;

namespace {

void add_one(trace_ring& ring, const std::string& trace, const std::string& what) {
  ring.record(trace, "route", what, {{"what", what}});
}

} // namespace

CAF_TEST(records of a trace come back in order with their fields) {
  trace_ring ring{"node-a", 10, 8};
  ring.record("t1", "route", "ran on node-b: chosen by round_robin",
              {{"chosen", "node-b"}}, std::chrono::microseconds{42});
  add_one(ring, "t1", "second");
  add_one(ring, "t2", "other trace");
  auto recs = ring.find("t1");
  CAF_REQUIRE_EQUAL(recs.size(), 2u);
  CAF_CHECK_EQUAL(recs[0].node, "node-a");
  CAF_CHECK_EQUAL(recs[0].step, "route");
  CAF_CHECK_EQUAL(recs[0].decision, "ran on node-b: chosen by round_robin");
  CAF_CHECK_EQUAL(recs[0].detail["chosen"], "node-b");
  CAF_CHECK_EQUAL(recs[0].duration_us, 42);
  CAF_CHECK_GREATER(recs[0].time_us, 1600000000LL * 1000000LL);
  CAF_CHECK_LESS_OR_EQUAL(recs[0].time_us, recs[1].time_us);
  CAF_CHECK_EQUAL(recs[1].decision, "second");
  auto j = ring.to_json("t1");
  CAF_REQUIRE(j.is_array());
  CAF_CHECK_EQUAL(j[0]["node"], "node-a");
  CAF_CHECK_EQUAL(j[0]["duration_us"], 42);
  CAF_CHECK(ring.find("unknown").empty());
  CAF_CHECK(ring.to_json("unknown").empty());
}

CAF_TEST(the oldest trace is evicted first) {
  trace_ring ring{"n", 3, 8};
  add_one(ring, "t1", "a");
  add_one(ring, "t2", "b");
  add_one(ring, "t3", "c");
  // A record for a kept trace does not make it newer or evict anything.
  add_one(ring, "t1", "a2");
  CAF_CHECK_EQUAL(ring.size(), 3u);
  add_one(ring, "t4", "d");
  CAF_CHECK_EQUAL(ring.size(), 3u);
  CAF_CHECK(ring.find("t1").empty());
  CAF_CHECK_EQUAL(ring.find("t2").size(), 1u);
  CAF_CHECK_EQUAL(ring.find("t4").size(), 1u);
  add_one(ring, "t5", "e");
  CAF_CHECK(ring.find("t2").empty());
  CAF_CHECK_EQUAL(ring.find("t3").size(), 1u);
}

CAF_TEST(one trace keeps at most per_trace records and counts the rest) {
  trace_ring ring{"n", 10, 4};
  for (int i = 0; i < 10; ++i)
    add_one(ring, "busy", std::to_string(i));
  auto recs = ring.find("busy");
  CAF_REQUIRE_EQUAL(recs.size(), 4u);
  CAF_CHECK_EQUAL(recs.front().decision, "0");
  CAF_CHECK_EQUAL(recs.back().decision, "3");
  CAF_CHECK_EQUAL(ring.dropped("busy"), 6u);
  // Other traces are unaffected.
  add_one(ring, "quiet", "x");
  CAF_CHECK_EQUAL(ring.find("quiet").size(), 1u);
}

CAF_TEST(long traces are evicted by the record budget) {
  // 4 traces of a budget of 16 records each on average: 64 in all.
  trace_ring ring{"n", 4, 256};
  for (const char* trace : {"a", "b", "c"})
    for (int i = 0; i < 30; ++i)
      add_one(ring, trace, std::to_string(i));
  CAF_CHECK_EQUAL(ring.size(), 3u);
  // 90 records kept: the next trace first drops the oldest whole.
  add_one(ring, "d", "x");
  CAF_CHECK(ring.find("a").empty());
  CAF_CHECK_EQUAL(ring.find("b").size(), 30u);
  CAF_CHECK_EQUAL(ring.find("d").size(), 1u);
  CAF_CHECK_EQUAL(ring.size(), 3u);
}

CAF_TEST(capacity zero keeps nothing) {
  trace_ring ring{"n", 0};
  CAF_CHECK(!ring.enabled());
  add_one(ring, "t1", "a");
  CAF_CHECK_EQUAL(ring.size(), 0u);
  CAF_CHECK(ring.find("t1").empty());
  auto ptr = std::make_shared<trace_ring>("n", 0);
  CAF_CHECK(!tracing(ptr));
  CAF_CHECK(!tracing(nullptr));
  CAF_CHECK(tracing(std::make_shared<trace_ring>("n", 1)));
}

CAF_TEST(an empty trace id is not kept) {
  trace_ring ring{"n", 4};
  add_one(ring, "", "a");
  CAF_CHECK_EQUAL(ring.size(), 0u);
}

CAF_TEST(concurrent adds from many threads keep the bounds) {
  constexpr int threads = 8;
  constexpr int per_thread = 2000;
  trace_ring ring{"n", 100, 16};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&ring, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Shared traces (t0..t49) and each thread's own ones.
        add_one(ring, "shared-" + std::to_string(i % 50), "s");
        add_one(ring, "own-" + std::to_string(t) + "-" + std::to_string(i),
                "o");
        (void) ring.find("shared-0");
      }
    });
  for (auto& th : pool)
    th.join();
  CAF_CHECK_EQUAL(ring.size(), 100u);
  // The newest traces are the threads' last own ones; each has one record.
  size_t found = 0;
  for (int t = 0; t < threads; ++t) {
    auto recs = ring.find("own-" + std::to_string(t) + "-"
                          + std::to_string(per_thread - 1));
    CAF_CHECK_LESS_OR_EQUAL(recs.size(), 1u);
    found += recs.size();
  }
  CAF_CHECK_GREATER(found, 0u);
}

CAF_TEST(concurrent adds to one trace stop at the cap) {
  trace_ring ring{"n", 10, 100};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&ring] {
      for (int i = 0; i < 1000; ++i)
        add_one(ring, "one", "x");
    });
  for (auto& th : pool)
    th.join();
  CAF_CHECK_EQUAL(ring.find("one").size(), 100u);
  CAF_CHECK_EQUAL(ring.dropped("one"), 3900u);
}
