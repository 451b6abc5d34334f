#define CAF_SUITE actors.router_trace
#include "router_fixture.hpp"

#include "actors/handlers/handler_table.hpp"
#include "actors/handlers/inline_call.hpp"
#include "telemetry/trace_ring.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using test::fake_answer;
using test::strings;

// The router's decision records (telemetry/trace_ring.hpp): what
// `meshctl trace ID` shows of a request on the node that routed it. Round
// robin over node-b, node-c (node id order), as router_resilience_test says.

namespace {

struct fixture : test::router_fixture {
  fixture() {
    traces = std::make_shared<trace_ring>("node-a", 100);
    traces->set_sample(1.0); // every request: the tests below read them all
  }

  std::vector<trace_record> records(const std::string& trace_id) {
    return traces->find(trace_id);
  }

  /// The steps of a trace, in order.
  strings steps(const std::string& trace_id) {
    strings out;
    for (const auto& r : records(trace_id))
      out.push_back(r.step);
    return out;
  }

  /// The first record of `step` (fails the test when there is none).
  trace_record first(const std::string& trace_id, const std::string& step) {
    for (const auto& r : records(trace_id))
      if (r.step == step)
        return r;
    CAF_FAIL("trace " << trace_id << " has no " << step << " record");
    return {};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_trace_tests, fixture)

CAF_TEST(a routed request records its policy and route and result) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  auto r = dispatch(test::request(test::get_key, "t1"));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(steps("t1"), (strings{"pipeline", "route", "result"}));
  auto pipe = first("t1", "pipeline");
  CAF_CHECK_EQUAL(pipe.node, "node-a");
  CAF_CHECK_EQUAL(pipe.detail.at("policy"), "retrying");
  CAF_CHECK(test::contains(pipe.decision, "policy retrying"));
  auto route = first("t1", "route");
  CAF_CHECK_EQUAL(route.detail.at("chosen"), "node-b");
  CAF_CHECK_EQUAL(route.detail.at("reason"), "balanced");
  CAF_CHECK_EQUAL(route.detail.at("balancer"), "round_robin");
  CAF_CHECK_EQUAL(route.detail.at("candidates").size(), 2u);
  CAF_CHECK(test::contains(route.decision, "runs on node-b"));
  CAF_CHECK(test::contains(route.decision, "round_robin"));
  auto result = first("t1", "result");
  CAF_CHECK_EQUAL(result.detail.at("status"), "ok");
  CAF_CHECK_EQUAL(result.detail.at("handled_by"), "node-b");
  CAF_CHECK_EQUAL(result.detail.at("attempts").size(), 1u);
  CAF_CHECK(test::contains(result.decision, "ok from node-b"));
  CAF_CHECK_GREATER_OR_EQUAL(result.duration_us, 0);
  // Records are per trace: another request keeps its own.
  dispatch(test::request(test::get_key, "t2"));
  auto second = first("t2", "route");
  CAF_CHECK_EQUAL(second.detail.at("chosen"), "node-c");
  CAF_CHECK_EQUAL(records("t1").size(), 3u);
}

CAF_TEST(a retry is recorded with the peer that failed and the next one) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::fail(status_code::unavailable);
  auto r = dispatch(test::request(test::get_key, "t1"));
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(steps("t1"),
                  (strings{"pipeline", "route", "retry", "result"}));
  auto retry = first("t1", "retry");
  CAF_CHECK_EQUAL(retry.detail.at("node"), "node-c");
  CAF_CHECK_EQUAL(retry.detail.at("previous"), "node-b");
  CAF_CHECK_EQUAL(retry.detail.at("after"), "unavailable");
  CAF_CHECK_EQUAL(retry.detail.at("attempt"), 2);
  CAF_CHECK(test::contains(retry.decision, "on node-c after node-b answered "
                                           "unavailable"));
  auto result = first("t1", "result");
  const auto& attempts = result.detail.at("attempts");
  CAF_REQUIRE_EQUAL(attempts.size(), 2u);
  CAF_CHECK_EQUAL(attempts[0].at("node"), "node-b");
  CAF_CHECK_EQUAL(attempts[0].at("status"), "unavailable");
  CAF_CHECK_EQUAL(attempts[1].at("node"), "node-c");
  CAF_CHECK_EQUAL(attempts[1].at("status"), "ok");
}

CAF_TEST(a hedge is recorded with its delay) {
  auto p = test::make_policy("hedged", "ns/*/*");
  p.hedging.enabled = true;
  p.hedging.delay = 20ms;
  start({p}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::frozen();
  send(test::request(test::get_key, "t1"));
  advance(20ms);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  auto hedge = first("t1", "hedge");
  CAF_CHECK_EQUAL(hedge.detail.at("node"), "node-c");
  CAF_CHECK_EQUAL(hedge.detail.at("after_us"), 20000);
  CAF_CHECK(test::contains(hedge.decision, "hedge to node-c after 20 ms"));
  auto result = first("t1", "result");
  CAF_CHECK_EQUAL(result.detail.at("handled_by"), "node-c");
  CAF_CHECK_EQUAL(result.detail.at("attempts")[0].at("abandoned"), true);
  CAF_CHECK_EQUAL(result.detail.at("attempts")[1].at("hedged"), true);
  release("t1", fake_answer::ok());
}

CAF_TEST(a refused request records why) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b"});
  auto req = test::request({"nope", "Svc", "Get"}, "t1");
  auto r = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(r), "not_found");
  auto result = first("t1", "result");
  CAF_CHECK_EQUAL(result.detail.at("status"), "not_found");
  CAF_CHECK(test::contains(result.decision, "not_found after 0 attempts"));
  CAF_CHECK(test::contains(result.decision, "nope"));
}

CAF_TEST(a targeted request records that the caller named the node) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  auto req = test::request(test::get_key, "t1");
  req.set_target_node_id("node-c");
  dispatch(req);
  auto route = first("t1", "route");
  CAF_CHECK_EQUAL(route.detail.at("chosen"), "node-c");
  CAF_CHECK_EQUAL(route.detail.at("reason"), "target");
  CAF_CHECK(test::contains(route.decision, "the caller named it"));
}

CAF_TEST(a ring of capacity zero records nothing) {
  traces = std::make_shared<trace_ring>("node-a", 0);
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::fail(status_code::unavailable);
  auto r = dispatch(test::request(test::get_key, "t1"));
  CAF_CHECK_EQUAL(r.handled_by(), "node-c");
  CAF_CHECK_EQUAL(traces->size(), 0u);
}

CAF_TEST(outside the sample only requests that ask are recorded) {
  traces->set_sample(0.0);
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  auto r = dispatch(test::request(test::get_key, "plain"));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(traces->size(), 0u);
  auto asked = test::request(test::get_key, "asked");
  asked.mutable_directives()->set_trace(true);
  r = dispatch(asked);
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(steps("asked"), (strings{"pipeline", "route", "result"}));
}

CAF_TEST(the sample is the same for a trace id on every node) {
  trace_ring a{"node-a", 10}, b{"node-b", 10};
  a.set_sample(0.5);
  b.set_sample(0.5);
  size_t in = 0;
  for (int i = 0; i < 1000; ++i) {
    auto id = "trace-" + std::to_string(i);
    CAF_CHECK_EQUAL(a.sampled(id), b.sampled(id));
    in += a.sampled(id) ? 1 : 0;
  }
  // About half (FNV-1a spreads these ids evenly).
  CAF_CHECK_GREATER(in, 400u);
  CAF_CHECK_LESS(in, 600u);
}

// The router reads the clock once per message; a handler it runs on its own
// thread is still timed from before the call to after it.
CAF_TEST(a handler the router runs itself is timed across the call) {
  start({}, {});
  service_key slow{"local", "Svc", "Slow"};
  auto table = std::make_shared<handler_table>();
  table->namespaces.insert("local");
  any_handler takes_7ms = [this](const call_context&,
                                 const google::protobuf::Any& in)
    -> caf::expected<google::protobuf::Any> {
    sched.clock().current_time += 7ms; // simulated time, while it runs
    return in;
  };
  table->active[slow] = handler_route{
    caf::actor{}, true,
    std::make_shared<inline_call>(slow, takes_7ms, "node-a", 5s, 30s)};
  self->send(router, atom::update_v, handler_table_ptr{table});
  run();
  auto r = dispatch(test::explained(slow, "t-slow"));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 1);
  CAF_CHECK_EQUAL(r.explain().attempts(0).duration_us(), 7000u);
  CAF_CHECK_EQUAL(first("t-slow", "execute").duration_us, 7000);
  CAF_CHECK_EQUAL(first("t-slow", "result").duration_us, 7000);
  // The next message reads the clock again: its call starts 3 ms after
  // the last one ended, so it too took 7 ms, not 10.
  sched.clock().current_time += 3ms;
  dispatch(test::explained(slow, "t-next"));
  CAF_CHECK_EQUAL(first("t-next", "result").duration_us, 7000);
}

CAF_TEST_FIXTURE_SCOPE_END()
