// Micro benchmarks of the routing hot path: handler lookup, request checks,
// the peer choice and the non-blocking fast path that runs a local dispatch.

#include <benchmark/benchmark.h>

#include <google/protobuf/wrappers.pb.h>

#include "actors/handlers/handler_table.hpp"
#include "protocol/request_checks.hpp"
#include "actors/routing/router_state.hpp"
#include "cluster/load_balancer.hpp"

namespace {

using namespace mesh;

handler_table make_table(int handlers) {
  handler_table t;
  for (int i = 0; i < handlers; ++i) {
    service_key key{"ns" + std::to_string(i % 10), "Service" + std::to_string(i),
                    "Method"};
    t.namespaces.insert(key.ns);
    t.active.emplace(key, handler_route{});
  }
  return t;
}

void handler_lookup(benchmark::State& state) {
  auto table = make_table(static_cast<int>(state.range(0)));
  std::string ns = "ns3", service = "Service3", method = "Method";
  for (auto _ : state)
    benchmark::DoNotOptimize(table.find({ns, service, method}));
}
BENCHMARK(handler_lookup)->Arg(10)->Arg(1000);

void request_checks(benchmark::State& state) {
  pb::ServiceRef ref;
  ref.set_namespace_("orders");
  ref.set_service("OrderService");
  ref.set_method("CreateOrder");
  google::protobuf::Any payload;
  payload.set_value(std::string(100, 'x'));
  for (auto _ : state)
    benchmark::DoNotOptimize(check_request(ref, payload, 4 << 20));
}
BENCHMARK(request_checks);

void trace_id(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(make_trace_id());
}
BENCHMARK(trace_id);

// The router's choice of peers for an auto-routed request, among N peers.
void peer_candidates(benchmark::State& state) {
  detail::router_state st;
  auto peers = std::make_shared<peer_table>();
  for (int i = 0; i < state.range(0); ++i) {
    peer_route r;
    r.id = "node-" + std::to_string(i);
    r.state = peer_state::up;
    r.shared.insert("orders");
    r.methods.emplace(service_key{"orders", "OrderService", "CreateOrder"},
                      false);
    peers->peers.emplace(r.id, std::move(r));
  }
  peers->index();
  st.peers = peers;
  st.balancer = make_load_balancer("round_robin", 0);
  detail::pipeline_call call;
  to_service_ref({"orders", "OrderService", "CreateOrder"},
                 *call.request.mutable_ref());
  st.name_service(call, true);
  for (auto _ : state)
    benchmark::DoNotOptimize(st.choose(call, false));
}
BENCHMARK(peer_candidates)->Arg(2)->Arg(16)->Arg(64);

void load_balancer_pick(benchmark::State& state, const char* name) {
  auto lb = make_load_balancer(name, 42);
  std::vector<peer_candidate> xs;
  for (size_t i = 0; i < 8; ++i)
    xs.push_back({"node", i});
  for (auto _ : state)
    benchmark::DoNotOptimize(lb->pick(xs));
}
BENCHMARK_CAPTURE(load_balancer_pick, round_robin, "round_robin");
BENCHMARK_CAPTURE(load_balancer_pick, least_in_flight, "least_in_flight");

// A local dispatch to a non-blocking echo handler, without actors: what the
// router does per request on the fast path.
void inline_dispatch(benchmark::State& state) {
  inline_call call{{"echo", "EchoService", "Echo"},
                   [](const call_context&, const google::protobuf::Any& in)
                     -> caf::expected<google::protobuf::Any> { return in; },
                   "node-a", std::chrono::seconds{5}, std::chrono::seconds{60}};
  pb::DispatchRequest req;
  to_service_ref({"echo", "EchoService", "Echo"}, *req.mutable_ref());
  google::protobuf::StringValue v;
  v.set_value(std::string(100, 'x'));
  req.mutable_payload()->PackFrom(v);
  req.set_trace_id("0123456789abcdef0123456789abcdef");
  for (auto _ : state)
    benchmark::DoNotOptimize(call.run<pb::DispatchResponse>(req));
}
BENCHMARK(inline_dispatch);

} // namespace
