// Micro benchmarks of what crosses the wire: the envelope (a DispatchRequest
// through CAF's serializer, as BASP sends it) and the status vocabulary.

#include <benchmark/benchmark.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <google/protobuf/wrappers.pb.h>

#include <nlohmann/json.hpp>

#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace {

using namespace mesh;

// One actor system per benchmark: a static one would be destroyed after
// CAF's own statics at exit.
struct system_holder {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  system_holder() {
    register_types(cfg);
    cfg.set("scheduler.max-threads", size_t{1});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor_system& operator()() {
    return *sys;
  }
};

pb::DispatchRequest sample_request() {
  pb::DispatchRequest req;
  req.mutable_ref()->set_namespace_("orders");
  req.mutable_ref()->set_service("OrderService");
  req.mutable_ref()->set_method("CreateOrder");
  google::protobuf::StringValue v;
  v.set_value(std::string(100, 'x'));
  req.mutable_payload()->PackFrom(v);
  req.set_trace_id("0123456789abcdef0123456789abcdef");
  req.set_deadline_ms(5000);
  req.set_origin_node("node-a");
  return req;
}

void envelope_serialize(benchmark::State& state) {
  system_holder sys;
  auto req = sample_request();
  std::vector<char> buf;
  for (auto _ : state) {
    buf.clear();
    caf::binary_serializer sink{sys(), buf};
    benchmark::DoNotOptimize(sink(req));
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}
BENCHMARK(envelope_serialize);

void envelope_deserialize(benchmark::State& state) {
  system_holder sys;
  auto req = sample_request();
  std::vector<char> buf;
  caf::binary_serializer sink{sys(), buf};
  static_cast<void>(sink(req));
  for (auto _ : state) {
    pb::DispatchRequest out;
    caf::binary_deserializer source{sys(), buf};
    benchmark::DoNotOptimize(source(out));
  }
}
BENCHMARK(envelope_deserialize);

void status_roundtrip(benchmark::State& state) {
  for (auto _ : state) {
    pb::Status s;
    s.set_code(static_cast<pb::StatusCode>(status_code::not_found));
    auto code = status_code_from_int(s.code());
    benchmark::DoNotOptimize(to_string(*code));
    benchmark::DoNotOptimize(is_retryable(*code));
  }
}
BENCHMARK(status_roundtrip);

void status_error_roundtrip(benchmark::State& state) {
  for (auto _ : state) {
    auto err = make_error(status_code::unavailable, "node b is down");
    benchmark::DoNotOptimize(to_status_code(err));
  }
}
BENCHMARK(status_error_roundtrip);

void json_payload_roundtrip(benchmark::State& state) {
  nlohmann::json doc{{"user_id", "u-1"},
                     {"items", {{{"sku", "s-1"}, {"quantity", 2}}}}};
  for (auto _ : state) {
    auto any = json_to_any(doc);
    benchmark::DoNotOptimize(any_to_json(any));
  }
}
BENCHMARK(json_payload_roundtrip);

} // namespace
