#define CAF_SUITE cluster.pipeline_resilience
#include "check.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_cluster.hpp"

// The dispatch pipeline under failures, on real nodes: a peer frozen with
// SIGSTOP is ejected as an outlier and skipped, then taken back once it
// thaws; hedging hides a frozen peer's latency; the retry budget bounds the
// retries a broken peer causes. The caller (C) serves namespace "pipe"
// without its handlers, so every request goes to a server.
//
// Heartbeats are slow on purpose (pipeline_cluster.hpp: patient_heartbeats):
// a frozen peer stays "up" for the failure detector during a test, so what
// keeps requests away from it is the pipeline. Requests go through one
// console connection (console_session): a meshctl process per request would
// measure process start, not the pipeline.

using namespace mesh::test;
using nlohmann::json;

namespace {

std::string brief(const json& reply) {
  json b{{"status", reply.value("status", "")},
         {"handled_by", result_of(reply).value("handled_by", "")},
         {"attempts", attempts_of(reply)}};
  if (reply.contains("error"))
    b["error"] = reply["error"];
  return b.dump();
}

bool skipped_as_outlier(const json& reply, const std::string& node) {
  auto result = result_of(reply);
  if (!result.contains("explain"))
    return false;
  for (const auto& s : result["explain"].value("skipped", json::array()))
    if (s.value("node", "") == node
        && s.value("reason", "").find("outlier") != std::string::npos)
      return true;
  return false;
}

} // namespace

CAF_TEST(a frozen peer is ejected and skipped then taken back when it thaws) {
  auto start = clock_type::now();
  temp_dir dir;
  auto a = start_server(dir, "A");
  auto b = start_server(dir, "B");
  auto d = start_server(dir, "D");
  json policy{{"name", "pipe-resilience"},
              {"match", "pipe/*/*"},
              {"retry", {{"max_attempts", 3}, {"per_try_timeout_ms", 300}}},
              {"outlier",
               {{"consecutive_failures", 3},
                {"interval_ms", 10000},
                {"base_ejection_ms", 3000},
                {"max_ejection_ms", 5000}}}};
  auto c = start_caller(dir, "C", {a.get(), b.get(), d.get()},
                        json::array({policy}));
  CAF_REQUIRE(
    await_condition([&] { return sees(c->http(), {"A", "B", "D"}); }));
  console_session s{c->console()};
  CAF_REQUIRE(await_routes(s, {a.get(), b.get(), d.get()}));
  CAF_MESSAGE("4 nodes up in " << us_since(start) / 1000 << " ms");
  freeze_guard frozen{d->pid()};
  // Requests until C ejects D: each one D takes ends at the per-try timeout
  // and goes to another peer.
  int warmup = 0, warmup_failed = 0;
  json view;
  bool ejected = await_condition(
    [&] {
      auto r = s.dispatch("Echo");
      ++warmup;
      if (!r.value("ok", false))
        ++warmup_failed;
      view = s.breakers();
      return breaker_state(view, "D") == "ejected";
    },
    30s);
  MESH_CHECK_MSG(ejected, "breakers of C: " << view.dump());
  CAF_REQUIRE(ejected);
  CAF_MESSAGE("D ejected after " << warmup << " requests (" << warmup_failed
                                 << " failed): " << view["D"].dump());
  CAF_CHECK_EQUAL(warmup_failed, 0);
  CAF_CHECK_GREATER_OR_EQUAL(view["D"].value("times_ejected", 0), 1);
  // 1,000 requests with D still frozen: (nearly) all succeed, none on D.
  constexpr int total = 1000;
  int ok = 0, skipped_d = 0, tries_on_d = 0;
  std::map<std::string, int> by_node;
  std::map<std::string, int> failures;
  auto t0 = clock_type::now();
  for (int i = 0; i < total; ++i) {
    auto r = s.dispatch("Echo", {{"i", i}});
    if (r.value("ok", false)) {
      ++ok;
      ++by_node[result_of(r).value("handled_by", "")];
    } else {
      ++failures[brief(r)];
    }
    for (const auto& at : attempts_of(r))
      if (at.value("node", "") == "D")
        ++tries_on_d; // probes once an ejection is over
    if (skipped_as_outlier(r, "D"))
      ++skipped_d;
  }
  auto run_ms = us_since(t0) / 1000;
  CAF_MESSAGE(total << " requests in " << run_ms << " ms: " << ok
                    << " ok, by node " << json(by_node).dump() << "; "
                    << tries_on_d << " attempts (probes) on D, D skipped as "
                                     "an outlier by "
                    << skipped_d);
  for (const auto& [what, n] : failures)
    CAF_MESSAGE(n << " x " << what);
  CAF_CHECK_GREATER_OR_EQUAL(ok, total * 99 / 100);
  CAF_CHECK_EQUAL(by_node.count("D"), 0u);
  CAF_CHECK_EQUAL(by_node["A"] + by_node["B"], ok);
  CAF_CHECK_GREATER(by_node["A"], 0);
  CAF_CHECK_GREATER(by_node["B"], 0);
  // The explanation says why D was left out.
  CAF_CHECK_GREATER(skipped_d, total / 2);
  // Still frozen when its ejection is over: the next request is D's one
  // probe, which times out, goes to another peer, and ejects D again for
  // longer. The end of an ejection is a time, not an event: poll for it.
  bool probing = await_condition(
    [&] {
      view = s.breakers(); // no request: nothing takes the probe
      if (breaker_state(view, "D") == "probing")
        return true;
      std::this_thread::sleep_for(20ms);
      return false;
    },
    10s);
  MESH_CHECK_MSG(probing, "breakers of C: " << view.dump());
  // Counted here, not assumed: when the 1,000 requests outlast the first
  // ejection (slow machine, sanitizers), a probe among them has already
  // ejected D a second time.
  auto ejections_before = view["D"].value("times_ejected", 0);
  auto probe = s.dispatch("Echo");
  MESH_CHECK_MSG(probe.value("ok", false), brief(probe));
  auto probe_attempts = attempts_of(probe);
  CAF_REQUIRE_EQUAL(probe_attempts.size(), 2u);
  CAF_CHECK_EQUAL(probe_attempts[0].value("node", ""), "D");
  CAF_CHECK_EQUAL(probe_attempts[0].value("probe", false), true);
  CAF_CHECK_EQUAL(probe_attempts[0].value("status", ""), "deadline_exceeded");
  CAF_CHECK_NOT_EQUAL(result_of(probe).value("handled_by", "D"), "D");
  view = s.breakers();
  CAF_CHECK_EQUAL(breaker_state(view, "D"), "ejected");
  CAF_CHECK_EQUAL(view["D"].value("times_ejected", 0), ejections_before + 1);
  CAF_MESSAGE("the probe failed; D ejected again: " << view["D"].dump());
  // D thaws; once its ejection is over, a probe closes it and traffic
  // returns.
  auto ejected_for = s.breakers()["D"].value("ejected_for_ms", 0);
  frozen.thaw();
  auto thawed = clock_type::now();
  bool saw_d = false;
  bool back = await_condition(
    [&] {
      auto r = s.dispatch("Echo");
      saw_d = saw_d
              || (r.value("ok", false)
                  && result_of(r).value("handled_by", "") == "D");
      view = s.breakers();
      if (saw_d && breaker_state(view, "D") == "closed")
        return true;
      std::this_thread::sleep_for(20ms);
      return false;
    },
    30s);
  MESH_CHECK_MSG(back, "D not back " << us_since(thawed) / 1000
                                     << " ms after SIGCONT (ejected for "
                                     << ejected_for
                                     << " ms more then); breakers: "
                                     << view.dump());
  CAF_MESSAGE("D back " << us_since(thawed) / 1000
                        << " ms after SIGCONT; it was ejected for "
                        << ejected_for << " ms more");
  int on_d = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = s.dispatch("Echo");
    CAF_CHECK(r.value("ok", false));
    if (result_of(r).value("handled_by", "") == "D")
      ++on_d;
  }
  CAF_MESSAGE(on_d << " of 30 requests on D after it came back");
  CAF_CHECK_GREATER_OR_EQUAL(on_d, 5);
  CAF_MESSAGE("test took " << us_since(start) / 1000 << " ms");
}

CAF_TEST(hedging bounds the latency of requests to a frozen peer) {
  auto start = clock_type::now();
  temp_dir dir;
  auto h1 = start_server(dir, "H1");
  auto h2 = start_server(dir, "H2");
  constexpr int64_t hedge_delay_ms = 100;
  // No ejection: the frozen peer keeps getting first attempts, so this
  // measures hedging alone.
  json policy{{"name", "hedged"},
              {"match", "pipe/*/*"},
              {"hedging", {{"delay_ms", hedge_delay_ms}}},
              {"outlier", {{"consecutive_failures", 0}}}};
  auto c = start_caller(dir, "C", {h1.get(), h2.get()}, json::array({policy}));
  CAF_REQUIRE(
    await_condition([&] { return sees(c->http(), {"H1", "H2"}); }));
  console_session s{c->console()};
  CAF_REQUIRE(await_routes(s, {h1.get(), h2.get()}));
  constexpr int n = 200;
  // Wall time of each request as the client sees it (console round trip
  // included, the same way in both phases).
  auto run = [&](std::vector<int64_t>& latencies_us, std::vector<json>& out) {
    for (int i = 0; i < n; ++i) {
      auto t = clock_type::now();
      auto r = s.dispatch("Echo", {{"i", i}}, {{"hedge", "on"}});
      latencies_us.push_back(us_since(t));
      out.push_back(std::move(r));
    }
  };
  std::vector<int64_t> normal, hedged;
  std::vector<json> normal_replies, replies;
  run(normal, normal_replies);
  for (const auto& r : normal_replies)
    MESH_CHECK_MSG(r.value("ok", false), brief(r));
  auto normal_p99 = quantile(normal, 0.99);
  freeze_guard frozen{h2->pid()};
  run(hedged, replies);
  frozen.thaw();
  auto hedged_p99 = quantile(hedged, 0.99);
  // The bound: the hedge delay, plus three times the normal p99 (the hedge
  // itself is a normal request), plus 25 ms for timer and scheduling slack
  // on a loaded two-core machine. Without hedging, half the requests would
  // wait for the whole deadline (5 s).
  auto bound_us = hedge_delay_ms * 1000 + 3 * normal_p99 + 25000;
  CAF_MESSAGE("p50/p99 normal " << quantile(normal, 0.5) << "/" << normal_p99
                                << " us; with H2 frozen "
                                << quantile(hedged, 0.5) << "/" << hedged_p99
                                << " us (max " << quantile(hedged, 1.0)
                                << "); bound " << bound_us << " us");
  int ok = 0, hedge_wins = 0, first_on_h2 = 0;
  for (const auto& r : replies) {
    MESH_CHECK_MSG(r.value("ok", false), brief(r));
    if (!r.value("ok", false))
      continue;
    ++ok;
    CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "H1");
    auto at = attempts_of(r);
    if (at.empty() || at[0].value("node", "") != "H2")
      continue;
    // Sent to the frozen peer first: the hedge on H1 answered, H2's
    // attempt was abandoned.
    ++first_on_h2;
    bool won = false;
    for (const auto& x : at)
      won = won
            || (x.value("hedged", false) && x.value("node", "") == "H1"
                && x.value("status", "") == "ok");
    MESH_CHECK_MSG(won && at[0].value("abandoned", false), brief(r));
    if (won)
      ++hedge_wins;
  }
  CAF_MESSAGE(ok << " of " << n << " ok; " << first_on_h2
                 << " went to H2 first, " << hedge_wins << " won by a hedge");
  CAF_CHECK_EQUAL(ok, n);
  CAF_CHECK_GREATER(first_on_h2, n / 4);
  CAF_CHECK_EQUAL(hedge_wins, first_on_h2);
  CAF_CHECK_LESS_OR_EQUAL(hedged_p99, bound_us);
  CAF_MESSAGE("test took " << us_since(start) / 1000 << " ms");
}

CAF_TEST(the retry budget bounds the retries a broken peer causes) {
  auto start = clock_type::now();
  temp_dir dir;
  auto broken = start_server(dir, "X", {"MESH_TEST_PIPE_DOWN=1"});
  auto healthy = start_server(dir, "Y");
  // One retry in flight at most (percent 0, min_concurrency 1); no
  // ejection, so the broken peer keeps getting first attempts.
  json policy{{"name", "budgeted"},
              {"match", "pipe/*/*"},
              {"retry", {{"max_attempts", 5}}},
              {"retry_budget", {{"percent", 0}, {"min_concurrency", 1}}},
              {"outlier", {{"consecutive_failures", 0}}}};
  auto c = start_caller(dir, "C", {broken.get(), healthy.get()},
                        json::array({policy}));
  CAF_REQUIRE(
    await_condition([&] { return sees(c->http(), {"X", "Y"}); }));
  console_session s{c->console()};
  CAF_REQUIRE(await_routes(s, {broken.get(), healthy.get()}));
  // N requests at once; each runs 200 ms on Y. A retry holds the budget's
  // one slot from the failure on X until Y answers (>= 200 ms), so in T ms
  // at most T / 200 retries fit.
  constexpr int n = 20;
  constexpr int64_t sleep_ms = 200;
  std::vector<json> replies(n);
  std::mutex mtx;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [&] { return go; });
      }
      replies[i] = s.dispatch("Sleep", {{"ms", sleep_ms}});
    });
  auto t0 = clock_type::now();
  {
    std::lock_guard<std::mutex> guard{mtx};
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads)
    t.join();
  auto wall_ms = us_since(t0) / 1000;
  auto allowed = wall_ms / sleep_ms;
  int first_ok = 0, retried_ok = 0, refused = 0;
  size_t attempts = 0;
  for (const auto& r : replies) {
    auto at = attempts_of(r);
    attempts += at.size();
    auto shape = brief(r);
    if (at.size() == 1 && at[0].value("node", "") == "Y"
        && r.value("ok", false)) {
      ++first_ok;
    } else if (at.size() == 2 && at[0].value("node", "") == "X"
               && at[0].value("status", "") == "unavailable"
               && at[1].value("node", "") == "Y" && r.value("ok", false)
               && result_of(r).value("handled_by", "") == "Y") {
      ++retried_ok;
    } else if (at.size() == 1 && at[0].value("node", "") == "X"
               && r.value("status", "") == "unavailable") {
      ++refused; // no retry: the budget was spent
    } else {
      CAF_FAIL("unexpected reply: " << shape);
    }
  }
  CAF_MESSAGE(n << " requests in " << wall_ms << " ms: " << first_ok
                << " ok at once on Y, " << retried_ok
                << " retried from X to Y, " << refused
                << " refused a retry; " << attempts << " attempts, at most "
                << n + allowed << " allowed");
  CAF_CHECK_LESS_OR_EQUAL(attempts, static_cast<size_t>(n + allowed));
  CAF_CHECK_EQUAL(attempts, static_cast<size_t>(n + retried_ok));
  CAF_CHECK_GREATER_OR_EQUAL(retried_ok, 1);
  // Without the budget every failure on X would have been retried.
  CAF_CHECK_GREATER_OR_EQUAL(refused, 1);
  CAF_CHECK_EQUAL(first_ok + retried_ok + refused, n);
  // The caller's status counts them too, as an operator reads it (the
  // requests that waited for the routes may have added some).
  auto status = s.call({{"cmd", "status"}});
  auto router = status.value("result", json::object())
                  .value("router", json::object());
  CAF_CHECK_GREATER_OR_EQUAL(router.value("retried", -1), retried_ok);
  CAF_CHECK_GREATER_OR_EQUAL(router.value("budget_exhausted", -1), refused);
  CAF_MESSAGE("test took " << us_since(start) / 1000 << " ms");
}
