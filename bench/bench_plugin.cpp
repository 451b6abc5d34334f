// The plug-in meshbench loads into the node it measures from:
//   bench/Local/Echo   answers with its payload (the local echo handler)
//   bench/Blocking/Echo  the same as a blocking handler: each call runs on
//                      a thread of the handler's executor pool
//   bench/Driver/Run   runs a closed loop of dispatches *inside* the node
//                      against its own router and answers with the figures:
//                      {"target": "ns/Service/Method", "in_flight": N,
//                       "warmup_ms": W, "duration_ms": D, "payload_bytes": B,
//                       "prebuilt": true sends one prebuilt message each time,
//                       "non_blocking": true declares the driver a
//                       non-blocking caller: answers from other nodes run
//                       it on the data plane's thread}
//   bench/Driver/Process  the same for process dispatch through the strategy
//                      evaluator: {"process": NAME, ...}; requests cycle
//                      through 4096 user_ids, so percentage_rollout hashes
//                      every time. Both drivers send prebuilt messages: the
//                      driver's work per request is the same for both
//   bench/Driver/Publish  the same for publishes: {"topic": T, ...}
//   bench/Task/Run     a durable task's handler: records emit-to-start
//   bench/Task/Report  those latencies ({"reset": true} clears them)
//   tailfixed/Tail/Echo, tailadapt/Tail/Echo  (only with MESH_BENCH_TAIL=1)
//                      an echo with a slow tail: 2 % of calls take 20 ms
//                      (the hedging scenario's servers)
// So "local dispatch" and "remote dispatch, one round trip" are measured
// from a caller inside the mesh, without a network hop to reach it.

#include <google/protobuf/wrappers.pb.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "actors/cluster/data/non_blocking_callers.hpp"
#include "bench/load_driver.hpp"
#include "telemetry/latency_histogram.hpp"
#include "node/plugin_api.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace {

using nlohmann::json;

// The closed loop's shape, from a driver's JSON arguments.
mesh::bench::load_spec load_spec_of(const json& in) {
  mesh::bench::load_spec spec;
  spec.in_flight = in.value("in_flight", size_t{1});
  spec.warmup = std::chrono::milliseconds{in.value("warmup_ms", 500)};
  spec.duration = std::chrono::milliseconds{in.value("duration_ms", 2000)};
  if (in.value("non_blocking", false))
    spec.on_start = [](const caf::actor& driver) {
      mesh::declare_non_blocking_caller(driver);
    };
  return spec;
}

// A 100-byte (by default) JSON payload, as the drivers send it.
json json_payload_of(const json& in) {
  return {{"data", std::string(in.value("payload_bytes", size_t{100}), 'x')}};
}

json run_driver(caf::actor_system& sys, const caf::actor& router,
                const json& in) {
  auto key = mesh::parse_service_path(in.value("target", ""));
  if (!key)
    throw mesh::handler_failure(mesh::status_code::invalid_argument,
                                "target must be namespace/Service/Method");
  auto spec = load_spec_of(in);
  mesh::pb::DispatchRequest proto;
  mesh::to_service_ref(*key, *proto.mutable_ref());
  google::protobuf::StringValue payload;
  payload.set_value(std::string(in.value("payload_bytes", size_t{100}), 'x'));
  proto.mutable_payload()->PackFrom(payload);
  proto.set_trace_id("bench");
  auto check = [](const mesh::pb::DispatchResponse& r) -> std::string {
    return r.status().code() == 0 ? std::string{} : r.status().message();
  };
  if (in.value("prebuilt", false)) {
    // One message, sent again and again: the driver copies nothing (the
    // router takes its own copy, as for any caller that keeps its request),
    // as the process driver does (the process scenarios' baseline).
    auto msg = caf::make_message(std::move(proto));
    return mesh::bench::run_closed_loop<mesh::pb::DispatchResponse>(
             sys, router, spec, [&msg] { return msg; }, check)
      .to_json();
  }
  return mesh::bench::run_closed_loop<mesh::pb::DispatchResponse>(
           sys, router, spec, [&proto] { return proto; }, check)
    .to_json();
}

json run_process_driver(caf::actor_system& sys, const caf::actor& evaluator,
                        const json& in) {
  if (!evaluator)
    throw mesh::handler_failure(mesh::status_code::unavailable,
                                "this node has no strategy evaluator");
  auto spec = load_spec_of(in);
  mesh::pb::ProcessRequest proto;
  proto.set_process_name(in.value("process", ""));
  proto.set_trace_id("bench");
  mesh::json_to_value(json_payload_of(in), *proto.mutable_input_args());
  auto* user = (*proto.mutable_user_context()->mutable_struct_value()
                  ->mutable_fields())["user_id"]
                 .mutable_string_value();
  // Built before the loop, as the plain driver's one message: per request
  // the driver only takes the next message of the ring (no copy of the
  // request, which the plain driver does not make either). 256 user ids,
  // so percentage_rollout hashes every time and the buckets spread; not
  // thousands, whose requests (4 MB) would come cold from memory each time
  // while the baseline's one message stays in cache, and a real caller's
  // request was written just before it is sent (BENCHMARKS.md: 5 %).
  constexpr size_t ring_size = 256;
  std::vector<caf::message> ring;
  ring.reserve(ring_size);
  for (size_t i = 0; i < ring_size; ++i) {
    *user = "u-" + std::to_string(i + 1);
    ring.push_back(caf::make_message(proto));
  }
  size_t n = 0;
  auto result = mesh::bench::run_closed_loop<mesh::pb::ProcessResponse>(
    sys, evaluator, spec,
    [&ring, &n] { return ring[n++ % ring_size]; },
    [](const mesh::pb::ProcessResponse& r) -> std::string {
      return r.status().code() == 0 ? std::string{} : r.status().message();
    });
  return result.to_json();
}

json run_publish_driver(caf::actor_system& sys, const caf::actor& topics,
                        const json& in) {
  if (!topics)
    throw mesh::handler_failure(mesh::status_code::unavailable,
                                "this node has no topic dispatcher");
  auto spec = load_spec_of(in);
  mesh::pb::PublishRequest proto;
  proto.set_topic(in.value("topic", ""));
  proto.set_category("event");
  proto.set_trace_id("bench");
  mesh::json_to_value(json_payload_of(in), *proto.mutable_payload());
  auto result = mesh::bench::run_closed_loop<mesh::pb::PublishResponse>(
    sys, topics, spec, [&proto] { return proto; },
    [](const mesh::pb::PublishResponse& r) -> std::string {
      return r.status() == "success" ? std::string{}
                                     : r.status() + ": " + r.error_message();
    });
  return result.to_json();
}

// Emit-to-start latency of task deliveries: each task's payload carries
// {"t": wall-clock microseconds at emit}; bench/Task/Report reads (and with
// {"reset": true} clears) what bench/Task/Run recorded.
struct task_latency {
  std::mutex mtx;
  mesh::latency_histogram hist; // nanoseconds
};

json task_run(task_latency& lat, const json& in) {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  auto t = in.is_object() ? in.value("t", int64_t{0}) : int64_t{0};
  std::lock_guard<std::mutex> guard{lat.mtx};
  if (t > 0 && now >= t)
    lat.hist.record(static_cast<uint64_t>(now - t) * 1000);
  return json::object();
}

json task_report(task_latency& lat, const json& in) {
  std::lock_guard<std::mutex> guard{lat.mtx};
  json out{{"count", lat.hist.count()},
           {"p50_us", lat.hist.quantile(0.5) / 1000},
           {"p90_us", lat.hist.quantile(0.9) / 1000},
           {"p99_us", lat.hist.quantile(0.99) / 1000},
           {"max_us", lat.hist.max() / 1000}};
  if (in.is_object() && in.value("reset", false))
    lat.hist = mesh::latency_histogram{};
  return out;
}

} // namespace

MESH_PLUGIN_ENTRY(registrar) {
  auto lat = std::make_shared<task_latency>();
  registrar.add_json({"bench", "Task", "Run"},
                     [lat](const mesh::call_context&, const json& in) {
                       return task_run(*lat, in);
                     });
  registrar.add_json({"bench", "Task", "Report"},
                     [lat](const mesh::call_context&, const json& in) {
                       return task_report(*lat, in);
                     });
  mesh::handler_options fast;
  fast.idempotent = true;
  fast.non_blocking = true;
  registrar.add({"bench", "Local", "Echo"},
                [](const mesh::call_context&, const google::protobuf::Any& in)
                  -> caf::expected<google::protobuf::Any> { return in; },
                fast);
  mesh::handler_options pooled;
  pooled.idempotent = true;
  registrar.add({"bench", "Blocking", "Echo"},
                [](const mesh::call_context&, const google::protobuf::Any& in)
                  -> caf::expected<google::protobuf::Any> { return in; },
                pooled);
  if (const char* tail = std::getenv("MESH_BENCH_TAIL");
      tail != nullptr && std::string{tail} == "1") {
    mesh::handler_options slow_tail;
    slow_tail.idempotent = true;
    slow_tail.max_concurrency = 256;
    for (const char* ns : {"tailfixed", "tailadapt"})
      registrar.add({ns, "Tail", "Echo"},
                    [](const mesh::call_context&,
                       const google::protobuf::Any& in)
                      -> caf::expected<google::protobuf::Any> {
                      thread_local std::mt19937 rng{std::random_device{}()};
                      if (std::uniform_int_distribution<int>{0, 99}(rng) < 2)
                        std::this_thread::sleep_for(
                          std::chrono::milliseconds{20});
                      return in;
                    },
                    slow_tail);
  }
  auto* sys = &registrar.system();
  auto router = registrar.router();
  registrar.add_json({"bench", "Driver", "Run"},
                     [sys, router](const mesh::call_context&, const json& in) {
                       return run_driver(*sys, router, in);
                     });
  registrar.add_json({"bench", "Driver", "Publish"},
                     [sys, topics = registrar.topics()](
                       const mesh::call_context&, const json& in) {
                       return run_publish_driver(*sys, topics, in);
                     });
  registrar.add_json({"bench", "Driver", "Process"},
                     [sys, evaluator = registrar.strategies()](
                       const mesh::call_context&, const json& in) {
                       return run_process_driver(*sys, evaluator, in);
                     });
  return 0;
}
