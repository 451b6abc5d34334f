#define CAF_SUITE actors.event_count
#include <caf/test/unit_test.hpp>

// actors/event_count.hpp: a waiter sleeps through no change made after it
// prepared, and a change made before it prepared is its own to see.

#include <atomic>
#include <future>
#include <thread>

#include "actors/event_count.hpp"

using namespace std::chrono_literals;

namespace {

// Waits until `value` reads `target`, as the header's protocol says.
void await_value(mesh::event_count& ec, const std::atomic<int>& value,
                 int target) {
  for (;;) {
    if (value.load() == target)
      return;
    auto key = ec.prepare();
    if (value.load() == target) {
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
  auto other = std::async(std::launch::async, [&] {
    for (int i = 0; i < rounds; ++i) {
      await_value(ec, value, 2 * i + 1);
      value.store(2 * i + 2);
      ec.notify_all();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    value.store(2 * i + 1);
    ec.notify_all();
    await_value(ec, value, 2 * i + 2);
  }
  CAF_CHECK(other.wait_for(5s) == std::future_status::ready);
  CAF_CHECK_EQUAL(value.load(), 2 * rounds);
}
