#define CAF_SUITE actors.job_runner
#include <caf/test/unit_test.hpp>

#include <algorithm>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include "actors/handlers/job_runner.hpp"

using namespace mesh;
using namespace std::chrono_literals;

CAF_TEST(jobs run on other threads) {
  auto runner = make_thread_runner("t", 2);
  std::promise<std::thread::id> ran;
  runner->submit([&] { ran.set_value(std::this_thread::get_id()); });
  auto id = ran.get_future().get();
  CAF_CHECK(id != std::this_thread::get_id());
}

CAF_TEST(up to max_threads jobs run at once and no more) {
  auto runner = make_thread_runner("t", 3);
  std::mutex mtx;
  std::condition_variable cv;
  int running = 0, started = 0, peak = 0, released = 0;
  for (int i = 0; i < 4; ++i)
    runner->submit([&] {
      std::unique_lock<std::mutex> guard{mtx};
      ++running;
      ++started;
      peak = std::max(peak, running);
      cv.notify_all();
      int ticket = started;
      cv.wait(guard, [&] { return released >= ticket; });
      --running;
      cv.notify_all();
    });
  std::unique_lock<std::mutex> guard{mtx};
  // Three run concurrently: none waits for another to finish...
  CAF_REQUIRE(cv.wait_for(guard, 10s, [&] { return running == 3; }));
  // ...and the fourth waits at the bound while they run.
  CAF_CHECK(!cv.wait_for(guard, 200ms, [&] { return started == 4; }));
  CAF_CHECK_EQUAL(peak, 3);
  released = 1; // one ends: the fourth starts in its place
  cv.notify_all();
  CAF_CHECK(cv.wait_for(guard, 10s, [&] { return started == 4; }));
  CAF_CHECK_EQUAL(peak, 3);
  released = 4;
  cv.notify_all();
  CAF_CHECK(cv.wait_for(guard, 10s, [&] { return running == 0; }));
}

CAF_TEST(destruction does not wait forever for a stuck job) {
  std::promise<void> started;
  auto block = std::make_shared<std::promise<void>>();
  auto stuck = block->get_future().share();
  auto t0 = std::chrono::steady_clock::now();
  {
    auto runner = make_thread_runner("t", 1, 100ms);
    runner->submit([&, stuck] {
      started.set_value();
      stuck.wait(); // never released before the runner is gone
    });
    started.get_future().wait();
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CAF_CHECK_LESS(elapsed, 5s);
  block->set_value(); // let the detached thread end
}

// Strict ping-pong: each job is submitted after the previous one ran, so
// the pool's threads have gone to sleep and each job must wake one; a lost
// wake-up leaves it waiting for the 5 s bound.
CAF_TEST(every job submitted while the threads sleep runs) {
  for (size_t threads : {size_t{1}, size_t{4}}) {
    auto runner = make_thread_runner("t", threads);
    int ran = 0;
    for (int i = 0; i < 5000; ++i) {
      std::promise<void> done;
      runner->submit([&done] { done.set_value(); });
      if (done.get_future().wait_for(5s) != std::future_status::ready)
        break;
      ++ran;
    }
    CAF_CHECK_EQUAL(ran, 5000);
  }
}
