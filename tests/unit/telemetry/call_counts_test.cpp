#define CAF_SUITE telemetry.call_counts
#include <caf/test/unit_test.hpp>

#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/call_counts.hpp"

using mesh::call_counts;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

call_counts two_methods() {
  return call_counts{{{"svc.A", "Get"}, {"svc.A", "Put"}},
                     {"OK", "CANCELLED", "UNKNOWN"}};
}

} // namespace

CAF_TEST(every method is listed from the start with nothing counted) {
  auto counts = two_methods();
  auto j = counts.to_json();
  CAF_REQUIRE_EQUAL(j.size(), 2u);
  CAF_CHECK_EQUAL(j[0]["service"], "svc.A");
  CAF_CHECK_EQUAL(j[0]["method"], "Get");
  CAF_CHECK_EQUAL(j[0]["started"], 0);
  CAF_CHECK_EQUAL(j[0]["in_flight"], 0);
  CAF_CHECK_EQUAL(j[0]["handled"], json::object());
  CAF_CHECK_EQUAL(j[0]["latency"]["count"], 0);
  CAF_CHECK_EQUAL(j[1]["method"], "Put");
}

CAF_TEST(calls are counted by method and code and in flight until answered) {
  auto counts = two_methods();
  counts.started(0);
  counts.started(0);
  counts.started(0);
  counts.started(1);
  counts.handled(0, 0, 2ms);
  counts.handled(0, 2, 4ms);
  auto j = counts.to_json();
  CAF_CHECK_EQUAL(j[0]["started"], 3);
  CAF_CHECK_EQUAL(j[0]["in_flight"], 1);
  CAF_CHECK_EQUAL(j[0]["handled"], json({{"OK", 1}, {"UNKNOWN", 1}}));
  CAF_CHECK_EQUAL(j[1]["started"], 1);
  CAF_CHECK_EQUAL(j[1]["in_flight"], 1);
  CAF_CHECK_EQUAL(j[1]["handled"], json::object());
  // Every answer's duration: 2 ms and 4 ms (within the histogram's 12.5 %).
  CAF_CHECK_EQUAL(j[0]["latency"]["count"], 2);
  CAF_CHECK_EQUAL(j[0]["latency"]["mean_us"], 3000.0);
  auto max_us = j[0]["latency"]["max_us"].get<double>();
  CAF_CHECK_GREATER_OR_EQUAL(max_us, 4000.0);
  CAF_CHECK_LESS_OR_EQUAL(max_us, 4500.0);
  CAF_CHECK_EQUAL(j[1]["latency"]["count"], 0);
}

CAF_TEST(indices out of range are ignored) {
  auto counts = two_methods();
  counts.started(2);
  counts.started(static_cast<size_t>(-1));
  counts.handled(2, 0, 1ms);
  counts.handled(0, 3, 1ms);
  counts.handled(1, 1000, 1ms);
  auto j = counts.to_json();
  for (const auto& m : j) {
    CAF_CHECK_EQUAL(m["started"], 0);
    CAF_CHECK_EQUAL(m["handled"], json::object());
    CAF_CHECK_EQUAL(m["latency"]["count"], 0);
  }
}

CAF_TEST(in flight never reads below zero) {
  // An answer counted without its start (a bug elsewhere) is not a
  // negative gauge on the page.
  auto counts = two_methods();
  counts.handled(1, 0, -1ms); // a clock that went back: 0
  auto j = counts.to_json();
  CAF_CHECK_EQUAL(j[1]["in_flight"], 0);
  CAF_CHECK_EQUAL(j[1]["handled"]["OK"], 1);
  CAF_CHECK_EQUAL(j[1]["latency"]["max_us"], 0);
}

CAF_TEST(counts from many threads add up) {
  auto counts = two_methods();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&counts] {
      for (int i = 0; i < 10000; ++i) {
        counts.started(1);
        counts.handled(1, static_cast<size_t>(i % 2), 1us);
      }
    });
  for (auto& t : threads)
    t.join();
  auto j = counts.to_json();
  CAF_CHECK_EQUAL(j[1]["started"], 40000);
  CAF_CHECK_EQUAL(j[1]["in_flight"], 0);
  CAF_CHECK_EQUAL(j[1]["handled"],
                  json({{"OK", 20000}, {"CANCELLED", 20000}}));
  CAF_CHECK_EQUAL(j[1]["latency"]["count"], 40000);
}
