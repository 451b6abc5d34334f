#define CAF_SUITE pipeline.outlier
#include <caf/test/unit_test.hpp>

#include "pipeline/outlier_detector.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

using admission = outlier_detector::admission;
using clock_type = outlier_detector::clock;

const char* name(admission x) {
  switch (x) {
    case admission::allow: return "allow";
    case admission::probe: return "probe";
    case admission::skip: return "skip";
  }
  return "?";
}

/// A detector on a simulated clock: `t` is moved by hand.
struct fixture {
  outlier_detector det;
  clock_type::time_point t0 = clock_type::time_point{} + 1h;
  clock_type::time_point t = t0;
  outlier_settings cfg;

  fixture() {
    cfg.consecutive_failures = 3;
    cfg.interval = 10s;
    cfg.base_ejection = 1s;
    cfg.max_ejection = 3s;
    cfg.max_ejected_percent = 50;
  }

  /// Records `n` failures of `peer`; true when the last one ejected it.
  bool fail(const std::string& peer, int n = 1, size_t serving = 3) {
    bool ejected = false;
    for (int i = 0; i < n; ++i)
      ejected = det.record_failure(peer, "svc", t, cfg, serving);
    return ejected;
  }

  std::string admit(const std::string& peer) {
    return name(det.admit(peer, "svc", t));
  }

  std::string peek(const std::string& peer) const {
    return name(det.peek(peer, "svc", t));
  }

  outlier_detector::row row_of(const std::string& peer) const {
    for (auto& r : det.snapshot(t))
      if (r.peer == peer && r.service == "svc")
        return r;
    CAF_FAIL("no row for " << peer);
    return {};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(outlier_tests, fixture)

CAF_TEST(only the peer could not serve statuses count as failures) {
  CAF_CHECK(is_outlier_failure(status_code::unavailable));
  CAF_CHECK(is_outlier_failure(status_code::deadline_exceeded));
  CAF_CHECK(is_outlier_failure(status_code::overloaded));
  for (auto code : {status_code::ok, status_code::handler_error,
                    status_code::invalid_argument, status_code::not_found,
                    status_code::permission_denied, status_code::internal})
    CAF_CHECK(!is_outlier_failure(code));
  CAF_CHECK_EQUAL(std::string{to_string(breaker_state::closed)}, "closed");
  CAF_CHECK_EQUAL(std::string{to_string(breaker_state::ejected)}, "ejected");
  CAF_CHECK_EQUAL(std::string{to_string(breaker_state::probing)}, "probing");
}

CAF_TEST(a peer is ejected after consecutive failures) {
  CAF_CHECK_EQUAL(admit("a"), "allow"); // never seen
  CAF_CHECK(!fail("a", 2));
  CAF_CHECK_EQUAL(admit("a"), "allow");
  CAF_CHECK(fail("a"));
  CAF_CHECK_EQUAL(admit("a"), "skip");
  CAF_CHECK_EQUAL(peek("a"), "skip");
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 1u);
  CAF_CHECK_EQUAL(det.ejected_count("other", t), 0u);
  auto r = row_of("a");
  CAF_CHECK_EQUAL(r.state, breaker_state::ejected);
  CAF_CHECK_EQUAL(r.times_ejected, 1u);
  CAF_CHECK_EQUAL(r.failures, 3u);
  CAF_CHECK(r.ejected_until == t0 + 1s);
}

CAF_TEST(a success breaks the streak) {
  CAF_CHECK(!fail("a", 2));
  det.record_success("a", "svc", t);
  CAF_CHECK(!fail("a", 2));
  CAF_CHECK_EQUAL(admit("a"), "allow");
  CAF_CHECK(fail("a"));
}

CAF_TEST(an ejected peer gets exactly one probe when its time is up) {
  CAF_REQUIRE(fail("a", 3));
  t = t0 + 999ms;
  CAF_CHECK_EQUAL(admit("a"), "skip");
  t = t0 + 1s;
  // Peeking changes nothing: the probe is still there to take.
  CAF_CHECK_EQUAL(peek("a"), "probe");
  CAF_CHECK_EQUAL(peek("a"), "probe");
  CAF_CHECK_EQUAL(admit("a"), "probe");
  CAF_CHECK_EQUAL(admit("a"), "skip");
  CAF_CHECK_EQUAL(peek("a"), "skip");
  t += 1h; // a probe that never answers keeps the peer out
  CAF_CHECK_EQUAL(admit("a"), "skip");
  CAF_CHECK_EQUAL(row_of("a").state, breaker_state::probing);
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 1u);
}

CAF_TEST(a successful probe closes the breaker) {
  CAF_REQUIRE(fail("a", 3));
  t = t0 + 1s;
  CAF_REQUIRE_EQUAL(admit("a"), "probe");
  det.record_success("a", "svc", t);
  CAF_CHECK_EQUAL(admit("a"), "allow");
  CAF_CHECK_EQUAL(admit("a"), "allow");
  CAF_CHECK_EQUAL(row_of("a").state, breaker_state::closed);
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 1u);
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 0u);
}

CAF_TEST(a failed probe ejects again for longer up to the cap) {
  CAF_REQUIRE(fail("a", 3));
  // Ejection times: 1 s, 2 s, then capped at 3 s.
  for (auto expected : {2s, 3s, 3s}) {
    t = row_of("a").ejected_until;
    CAF_REQUIRE_EQUAL(admit("a"), "probe");
    // One failure is enough: the peer was out already, no cap applies.
    CAF_CHECK(det.record_failure("a", "svc", t, cfg, 3));
    auto r = row_of("a");
    CAF_CHECK_EQUAL(r.state, breaker_state::ejected);
    CAF_CHECK(r.ejected_until == t + expected);
    t += expected - 1ms;
    CAF_CHECK_EQUAL(admit("a"), "skip");
  }
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 4u);
}

CAF_TEST(failures while ejected do not extend the ejection) {
  CAF_REQUIRE(fail("a", 3));
  t = t0 + 500ms;
  CAF_CHECK(!fail("a", 5));
  CAF_CHECK(row_of("a").ejected_until == t0 + 1s);
  CAF_CHECK_EQUAL(row_of("a").failures, 8u);
}

CAF_TEST(failures further apart than the interval restart the streak) {
  CAF_CHECK(!fail("a", 1));
  t = t0 + 10s; // exactly the interval: still counts
  CAF_CHECK(!fail("a", 1));
  t = t0 + 20s + 1ms; // older than the interval: starts again at 1
  CAF_CHECK(!fail("a", 1));
  CAF_CHECK_EQUAL(row_of("a").consecutive_failures, 1u);
  CAF_CHECK(!fail("a", 1));
  CAF_CHECK(fail("a", 1));
  // A stale streak shows as none.
  CAF_CHECK(!fail("b", 2));
  CAF_CHECK_EQUAL(row_of("b").consecutive_failures, 2u);
  t += 11s;
  CAF_CHECK_EQUAL(row_of("b").consecutive_failures, 0u);
}

CAF_TEST(each interval spent closed forgives one ejection) {
  CAF_REQUIRE(fail("a", 3));
  t = row_of("a").ejected_until;
  admit("a");
  CAF_REQUIRE(det.record_failure("a", "svc", t, cfg, 3)); // times 2
  t = row_of("a").ejected_until;
  CAF_REQUIRE_EQUAL(admit("a"), "probe");
  det.record_success("a", "svc", t);
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 2u);
  t += 9s;
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 2u);
  t += 1s;
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 1u);
  t += 9s;
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 1u);
  // The next ejection is the second again (2 s), not the third (3 s).
  CAF_REQUIRE(fail("a", 3));
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 2u);
  CAF_CHECK(row_of("a").ejected_until == t + 2s);
}

CAF_TEST(at most max_ejected_percent of three peers are ejected) {
  CAF_CHECK(fail("a", 3, 3));
  // 50 % of 3 is 1: b keeps serving however often it fails.
  CAF_CHECK(!fail("b", 10, 3));
  CAF_CHECK_EQUAL(admit("b"), "allow");
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 1u);
  // Once a is back, b's ongoing streak ejects it at its next failure.
  t = t0 + 1s;
  CAF_REQUIRE_EQUAL(admit("a"), "probe");
  det.record_success("a", "svc", t);
  CAF_CHECK(fail("b", 1, 3));
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 1u);
}

CAF_TEST(all but one of three may be ejected at 100 percent) {
  cfg.max_ejected_percent = 100;
  CAF_CHECK(fail("a", 3, 3));
  CAF_CHECK(fail("b", 3, 3));
  CAF_CHECK(!fail("c", 10, 3));
  CAF_CHECK_EQUAL(admit("c"), "allow");
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 2u);
}

CAF_TEST(one of two peers may be ejected never both) {
  CAF_CHECK(fail("a", 3, 2));
  CAF_CHECK(!fail("b", 10, 2));
  CAF_CHECK_EQUAL(admit("b"), "allow");
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 1u);
  // Even with no percentage allowed, one of two may go: max(1, 0).
  outlier_detector other;
  cfg.max_ejected_percent = 0;
  for (int i = 0; i < 2; ++i)
    CAF_CHECK(!other.record_failure("x", "svc", t, cfg, 2));
  CAF_CHECK(other.record_failure("x", "svc", t, cfg, 2));
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(!other.record_failure("y", "svc", t, cfg, 2));
}

CAF_TEST(the only peer of a service is never ejected) {
  cfg.max_ejected_percent = 100;
  CAF_CHECK(!fail("a", 20, 1));
  CAF_CHECK_EQUAL(admit("a"), "allow");
  CAF_CHECK_EQUAL(row_of("a").consecutive_failures, 20u);
  CAF_CHECK_EQUAL(row_of("a").times_ejected, 0u);
}

CAF_TEST(zero consecutive failures never ejects) {
  cfg.consecutive_failures = 0;
  CAF_CHECK(!fail("a", 50, 5));
  CAF_CHECK_EQUAL(admit("a"), "allow");
}

CAF_TEST(services are judged apart) {
  CAF_CHECK(fail("a", 3, 3));
  CAF_CHECK_EQUAL(name(det.admit("a", "other", t)), "allow");
  // a's ejection for svc takes no slot of other's.
  for (int i = 0; i < 2; ++i)
    CAF_CHECK(!det.record_failure("b", "other", t, cfg, 2));
  CAF_CHECK(det.record_failure("b", "other", t, cfg, 2));
  CAF_CHECK_EQUAL(admit("b"), "allow");
}

CAF_TEST(the snapshot lists every peer and service in order) {
  det.record_success("b", "svc", t);
  det.record_success("b", "alpha", t);
  fail("a", 3, 3);
  det.record_failure("c", "svc", t, cfg, 3);
  auto rows = det.snapshot(t);
  CAF_REQUIRE_EQUAL(rows.size(), 4u);
  CAF_CHECK_EQUAL(rows[0].peer, "a");
  CAF_CHECK_EQUAL(rows[0].state, breaker_state::ejected);
  CAF_CHECK_EQUAL(rows[0].failures, 3u);
  CAF_CHECK(rows[0].ejected_until == t + 1s);
  CAF_CHECK_EQUAL(rows[1].peer, "b");
  CAF_CHECK_EQUAL(rows[1].service, "alpha");
  CAF_CHECK_EQUAL(rows[2].peer, "b");
  CAF_CHECK_EQUAL(rows[2].service, "svc");
  CAF_CHECK_EQUAL(rows[2].successes, 1u);
  CAF_CHECK_EQUAL(rows[2].state, breaker_state::closed);
  CAF_CHECK(rows[2].ejected_until == clock_type::time_point{});
  CAF_CHECK_EQUAL(rows[3].peer, "c");
  CAF_CHECK_EQUAL(rows[3].consecutive_failures, 1u);
  // Forgetting a peer drops all its rows and frees its ejection slot.
  det.forget("a");
  rows = det.snapshot(t);
  CAF_CHECK_EQUAL(rows.size(), 3u);
  CAF_CHECK_EQUAL(rows[0].peer, "b");
  CAF_CHECK_EQUAL(det.ejected_count("svc", t), 0u);
  CAF_CHECK_EQUAL(admit("a"), "allow");
}

CAF_TEST_FIXTURE_SCOPE_END()
