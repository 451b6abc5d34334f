#define CAF_SUITE actors.event_count
#include <caf/test/unit_test.hpp>

// actors/event_count.hpp: a waiter sleeps through no change made after it
// prepared, and a change made before it prepared is its own to see.

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

#include "actors/event_count.hpp"
#include "thread_state.hpp"

using namespace std::chrono_literals;

namespace {

// Waits until `value` reads `target`, as the header's protocol says, or
// until `give_up` is set (the test's watchdog found the round stalled).
void await_value(mesh::event_count& ec, const std::atomic<int>& value,
                 int target, const std::atomic<bool>& give_up) {
  for (;;) {
    if (value.load() == target || give_up.load())
      return;
    auto key = ec.prepare();
    if (value.load() == target || give_up.load()) {
      ec.cancel();
      return;
    }
    ec.wait(key);
  }
}

} // namespace

CAF_TEST(a change after prepare makes wait return at once) {
  mesh::event_count ec;
  auto key = ec.prepare();
  ec.notify_one();
  auto waited = std::async(std::launch::async, [&] { ec.wait(key); });
  CAF_CHECK(waited.wait_for(5s) == std::future_status::ready);
}

CAF_TEST(two threads hand a value back and forth without a lost wake up) {
  constexpr int rounds = 20000;
  mesh::event_count ec;
  std::atomic<int> value{0};
  // A lost wake-up leaves a thread asleep with its value ready: the round
  // stops moving. The watchdog, finding no progress in 5 s, says so and
  // wakes both (their waits give up on the flag), so the test fails with
  // that finding instead of hanging until CTest's timeout.
  std::atomic<bool> stalled{false};
  std::mutex mtx;
  std::condition_variable finished;
  bool done = false; // guarded by mtx
  auto watchdog = std::async(std::launch::async, [&] {
    std::unique_lock<std::mutex> guard{mtx};
    int seen = -1;
    while (!finished.wait_for(guard, 5s, [&] { return done; })) {
      int now = value.load();
      if (now == seen) {
        stalled = true;
        ec.notify_all();
      }
      seen = now;
    }
  });
  auto other = std::async(std::launch::async, [&] {
    for (int i = 0; i < rounds && !stalled; ++i) {
      await_value(ec, value, 2 * i + 1, stalled);
      value.store(2 * i + 2);
      ec.notify_all();
    }
  });
  for (int i = 0; i < rounds && !stalled; ++i) {
    value.store(2 * i + 1);
    ec.notify_all();
    await_value(ec, value, 2 * i + 2, stalled);
  }
  CAF_CHECK(other.wait_for(10s) == std::future_status::ready);
  {
    std::lock_guard<std::mutex> guard{mtx};
    done = true;
  }
  finished.notify_one();
  watchdog.wait();
  CAF_CHECK(!stalled);
  CAF_CHECK_EQUAL(value.load(), 2 * rounds);
}

// While a poller is registered a notify wakes no sleeper (the poller sees
// the count move instead); once it stopped, notifies wake again. Only one
// thread polls at a time.
CAF_TEST(a registered poller takes the wake ups) {
  mesh::event_count ec;
  CAF_REQUIRE(ec.try_start_polling());
  CAF_CHECK(!ec.try_start_polling()); // one poller at a time
  auto key = ec.prepare();
  std::atomic<pid_t> tid{0};
  std::atomic<bool> woke{false};
  auto sleeper = std::async(std::launch::async, [&] {
    tid = static_cast<pid_t>(::syscall(SYS_gettid));
    ec.wait(key); // sleeps while the count reads key
    woke = true;
  });
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((tid.load() == 0 || !mesh::test::asleep(tid.load()))
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CAF_REQUIRE(mesh::test::asleep(tid.load()));
  ec.notify_one(); // the count moves, but the poller is registered
  CAF_CHECK(ec.count() != key);
  // The bounded wait asserts that something does not happen.
  CAF_CHECK(sleeper.wait_for(200ms) == std::future_status::timeout);
  CAF_CHECK(!woke.load());
  ec.stop_polling();
  ec.notify_one();
  CAF_CHECK(sleeper.wait_for(5s) == std::future_status::ready);
  CAF_CHECK(woke.load());
  CAF_CHECK(ec.try_start_polling()); // free again
  ec.stop_polling();
}
