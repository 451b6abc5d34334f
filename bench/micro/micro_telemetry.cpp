// Micro benchmarks of telemetry on the hot path (latency recording) and on
// the error path (redaction of handler error text).

#include <benchmark/benchmark.h>

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

void redact_error_text(benchmark::State& state) {
  std::string text = "cannot open postgres://app:s3cret@db:5432/orders with "
                     "password=hunter2 for user 42";
  for (auto _ : state)
    benchmark::DoNotOptimize(mesh::redact_secrets(text));
}
BENCHMARK(redact_error_text);

} // namespace
