#define CAF_SUITE actors.inline_call
#include <caf/test/unit_test.hpp>

#include <thread>

#include "actors/handlers/inline_call.hpp"
#include "protocol/json/json_payload.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

inline_call make(json_handler fn) {
  auto spec = make_json_handler({"a", "B", "C"}, std::move(fn));
  return {spec.key, spec.fn, "node-x", 5000ms, 60000ms};
}

} // namespace

CAF_TEST(a call is answered with node and trace and counted) {
  auto call = make([](const call_context& ctx, const json& in) {
    return json{{"trace", ctx.trace_id}, {"in", in}};
  });
  pb::ServeRequest req;
  req.set_trace_id("t-9");
  *req.mutable_payload() = json_to_any("hi");
  auto r = call.run<pb::ServeResponse>(req);
  CAF_CHECK_EQUAL(r.status().code(), 0);
  CAF_CHECK_EQUAL(r.executor_id(), "node-x");
  CAF_CHECK_EQUAL(r.trace_id(), "t-9");
  CAF_CHECK_EQUAL(any_to_json(r.payload())->at("trace").get<std::string>(),
                  "t-9");
  auto stats = call.stats();
  CAF_CHECK_EQUAL(stats["calls"], 1);
  CAF_CHECK_EQUAL(stats["ok"], 1);
}

CAF_TEST(a call that overruns its deadline is deadline_exceeded) {
  auto call = make([](const call_context&, const json& in) {
    std::this_thread::sleep_for(30ms); // overruns the 10 ms budget below
    return in;
  });
  pb::DispatchRequest req;
  req.set_deadline_ms(10);
  auto r = call.run<pb::DispatchResponse>(req);
  CAF_CHECK_EQUAL(r.status().code(),
                  static_cast<int>(status_code::deadline_exceeded));
  CAF_CHECK(r.status().message().find("10 ms") != std::string::npos);
  CAF_CHECK_EQUAL(call.stats().value("timeouts", -1), 1);
}

CAF_TEST(a failing call keeps its status and is counted as an error) {
  auto call = make([](const call_context&, const json&) -> json {
    throw handler_failure(status_code::not_found, "nothing here");
  });
  pb::DispatchRequest req;
  auto r = call.run<pb::DispatchResponse>(req);
  CAF_CHECK_EQUAL(r.status().code(), static_cast<int>(status_code::not_found));
  CAF_CHECK_EQUAL(r.status().message(), "nothing here");
  CAF_CHECK_EQUAL(call.stats().value("errors", -1), 1);
}

CAF_TEST(a second stall demotes only within the window of the first) {
  stall_counter stalls;
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK(!stalls.second(t0));
  // A minute or more later: a first again, counted from there.
  CAF_CHECK(!stalls.second(t0 + stall_window));
  CAF_CHECK(stalls.second(t0 + stall_window + 59s));
  // A time before the first (the plane's registry reads times another
  // thread may have stored) counts as a first, never as a second.
  stall_counter back;
  CAF_CHECK(!back.second(t0));
  CAF_CHECK(!back.second(t0 - 1s));
  CAF_CHECK(back.second(t0));
}
