#define CAF_SUITE cluster.failure_detector
#include <caf/test/unit_test.hpp>

#include "cluster/backoff.hpp"
#include "cluster/failure_detector.hpp"

using namespace mesh;
using namespace std::chrono_literals;

CAF_TEST(a peer heard within the interval is up) {
  failure_detector fd{500ms, 6};
  failure_detector::clock::time_point t0{};
  fd.heard(t0);
  CAF_CHECK(fd.assess(t0) == peer_state::up);
  CAF_CHECK(fd.assess(t0 + 499ms) == peer_state::up);
  CAF_CHECK(fd.assess(t0 + 1500ms) == peer_state::up);
}

CAF_TEST(silence beyond half the misses is suspect and beyond all is down) {
  failure_detector fd{500ms, 6};
  failure_detector::clock::time_point t0{};
  fd.heard(t0);
  CAF_CHECK(fd.assess(t0 + 1501ms) == peer_state::suspect);
  CAF_CHECK(fd.assess(t0 + 2999ms) == peer_state::suspect);
  CAF_CHECK(fd.assess(t0 + 3000ms) == peer_state::down);
  CAF_CHECK_EQUAL(fd.timeout(), 3000ms);
  fd.heard(t0 + 3100ms); // news again
  CAF_CHECK(fd.assess(t0 + 3200ms) == peer_state::up);
}

CAF_TEST(a beat that is merely late by jitter never makes a peer suspect) {
  // The defaults, 1000 ms x 3: half the threshold would be one interval,
  // which a beat on time but re-armed after its tick overshoots.
  failure_detector fd{1000ms, 3};
  failure_detector::clock::time_point t0{};
  fd.heard(t0);
  CAF_CHECK(fd.assess(t0 + 1010ms) == peer_state::up);
  CAF_CHECK(fd.assess(t0 + 1500ms) == peer_state::up);
  CAF_CHECK(fd.assess(t0 + 1501ms) == peer_state::suspect);
  CAF_CHECK(fd.assess(t0 + 3000ms) == peer_state::down);
}

CAF_TEST(one miss threshold goes straight from up to down) {
  failure_detector fd{100ms, 1};
  failure_detector::clock::time_point t0{};
  fd.heard(t0);
  CAF_CHECK(fd.assess(t0 + 99ms) == peer_state::up);
  CAF_CHECK(fd.assess(t0 + 100ms) == peer_state::down);
}

CAF_TEST(heartbeat ticks fall on multiples of the interval) {
  // Two nodes started at different times beat at the same moments.
  auto a = 12'345'678'123ns, b = 99'000'000'001ns;
  auto next_a = a + next_beat_delay(a, 1000ms);
  auto next_b = b + next_beat_delay(b, 1000ms);
  CAF_CHECK_EQUAL(next_a.count() % 1'000'000'000, 0);
  CAF_CHECK_EQUAL(next_b.count() % 1'000'000'000, 0);
  CAF_CHECK_EQUAL(next_beat_delay(a, 1000ms).count(), 654'321'877);
  // A tick on (or just past) its boundary waits a whole interval.
  CAF_CHECK_EQUAL(next_beat_delay(5000ms, 1000ms).count(), 1'000'000'000);
  CAF_CHECK_EQUAL(next_beat_delay(5001ms, 1000ms).count(), 999'000'000);
  // Just before a boundary it is skipped: no two ticks in a row.
  CAF_CHECK_EQUAL(next_beat_delay(5950ms, 1000ms).count(), 1'050'000'000);
  CAF_CHECK_EQUAL(next_beat_delay(5950ms, 0ms).count(), 0);
  // A clock before its epoch still lands on a boundary.
  CAF_CHECK_EQUAL(next_beat_delay(-300ms, 1000ms).count(), 300'000'000);
}

CAF_TEST(state names round-trip) {
  for (auto x : {peer_state::joining, peer_state::up, peer_state::suspect,
                 peer_state::down, peer_state::left})
    CAF_CHECK(peer_state_from_string(to_string(x)) == x);
  CAF_CHECK(!peer_state_from_string("zombie"));
  CAF_CHECK(is_routable(peer_state::suspect));
  CAF_CHECK(!is_routable(peer_state::left));
}

CAF_TEST(backoff doubles up to the cap) {
  backoff b{100ms, 1000ms, 0.0};
  CAF_CHECK_EQUAL(b.next(0.5), 100ms);
  CAF_CHECK_EQUAL(b.next(0.5), 200ms);
  CAF_CHECK_EQUAL(b.next(0.5), 400ms);
  CAF_CHECK_EQUAL(b.next(0.5), 800ms);
  CAF_CHECK_EQUAL(b.next(0.5), 1000ms);
  CAF_CHECK_EQUAL(b.next(0.5), 1000ms);
  CAF_CHECK_EQUAL(b.attempts(), 6u);
  b.reset();
  CAF_CHECK_EQUAL(b.next(0.5), 100ms);
}

CAF_TEST(jitter spreads delays within its fraction) {
  backoff low{1000ms, 1000ms, 0.2};
  backoff high{1000ms, 1000ms, 0.2};
  CAF_CHECK_EQUAL(low.next(0.0), 800ms);
  CAF_CHECK_EQUAL(high.next(0.999999), 1199ms);
  backoff many{1000ms, 1000ms, 0.2};
  for (int i = 0; i < 100; ++i) {
    auto d = many.next(i / 100.0);
    CAF_CHECK(d >= 800ms && d <= 1200ms);
  }
}

CAF_TEST(a peer that beats more slowly is judged by its own interval) {
  // Ours: 100 ms x 5. The peer beats every second.
  failure_detector fd{100ms, 5};
  failure_detector::clock::time_point t0{};
  fd.heard(t0);
  CAF_CHECK(fd.assess(t0 + 600ms) == peer_state::down); // before it says
  fd.pace(1000ms);
  CAF_CHECK_EQUAL(fd.interval(), 1000ms);
  CAF_CHECK(fd.assess(t0 + 1000ms) == peer_state::up); // its next beat is due
  CAF_CHECK(fd.assess(t0 + 2501ms) == peer_state::suspect);
  CAF_CHECK(fd.assess(t0 + 5000ms) == peer_state::down);
}

CAF_TEST(a faster or unsaid pace keeps ours and an absurd one is capped) {
  failure_detector fd{1000ms, 3};
  fd.pace(100ms); // faster than ours: ours still holds
  CAF_CHECK_EQUAL(fd.interval(), 1000ms);
  fd.pace(0ms); // an older node says nothing
  CAF_CHECK_EQUAL(fd.interval(), 1000ms);
  fd.pace(std::chrono::hours{24}); // never more than the configurable maximum
  CAF_CHECK_EQUAL(fd.interval(), failure_detector::max_pace);
  fd.pace(2000ms); // it slowed down and then sped up again
  CAF_CHECK_EQUAL(fd.interval(), 2000ms);
}
