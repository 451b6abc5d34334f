#pragma once

// What the data plane's tests await: events its handlers report, each
// popped with a bound of 10 s (never slept on).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace mesh::test {

struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> items;

  void push(std::string a, std::string b) {
    std::lock_guard<std::mutex> guard{mtx};
    items.emplace_back(std::move(a), std::move(b));
    cv.notify_all();
  }

  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return items.size();
  }

  bool pop(std::pair<std::string, std::string>& out) {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, std::chrono::seconds{10}, [this] { return !items.empty(); }))
      return false;
    out = std::move(items.front());
    items.pop_front();
    return true;
  }
};

} // namespace mesh::test
