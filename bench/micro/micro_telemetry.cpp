// Micro benchmarks of telemetry on the hot path (latency recording, a front
// door's count of one call) and on the error path (redaction of handler
// error text).

#include <benchmark/benchmark.h>

#include <chrono>

#include "telemetry/call_counts.hpp"
#include "telemetry/latency_histogram.hpp"
#include "telemetry/redact.hpp"

namespace {

void histogram_record(benchmark::State& state) {
  mesh::latency_histogram h;
  uint64_t x = 1;
  for (auto _ : state) {
    h.record(x);
    x = x * 2862933555777941757ULL + 3037000493ULL;
    x &= 0xFFFFFFF;
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(histogram_record);

// What the gRPC door and the HTTP API add to each request: a start, an
// answer with its duration, and the two clock reads around them.
void door_call_counted(benchmark::State& state) {
  static mesh::call_counts counts{{{"mesh.v1.Mesh", "Dispatch"}},
                                  {"OK", "CANCELLED"}};
  for (auto _ : state) {
    counts.started(0);
    auto began = std::chrono::steady_clock::now();
    counts.handled(0, 0, std::chrono::steady_clock::now() - began);
  }
}
BENCHMARK(door_call_counted);
BENCHMARK(door_call_counted)->Threads(2);

void redact_error_text(benchmark::State& state) {
  std::string text = "cannot open postgres://app:s3cret@db:5432/orders with "
                     "password=hunter2 for user 42";
  for (auto _ : state)
    benchmark::DoNotOptimize(mesh::redact_secrets(text));
}
BENCHMARK(redact_error_text);

} // namespace
