#include "actors/handlers/job_runner.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

#include "actors/event_count.hpp"

namespace mesh {

namespace {

// Shared between the pool and its threads, so a detached thread that is
// still stuck in user code never touches freed memory.
struct pool_core {
  std::mutex mtx;
  event_count work_added; ///< jobs or stopping changed (actors/event_count.hpp)
  std::condition_variable thread_exited;
  std::deque<std::function<void()>> jobs;
  size_t idle = 0;
  size_t alive = 0;
  bool stopping = false;
};

void worker_loop(std::shared_ptr<pool_core> core) {
  std::unique_lock<std::mutex> guard{core->mtx};
  for (;;) {
    while (core->jobs.empty() && !core->stopping) {
      ++core->idle;
      // Read under the lock: a job submitted after this check moves it.
      auto key = core->work_added.prepare();
      guard.unlock();
      core->work_added.wait(key);
      guard.lock();
      --core->idle;
    }
    if (core->jobs.empty()) // stopping and nothing left to do
      break;
    auto job = std::move(core->jobs.front());
    core->jobs.pop_front();
    guard.unlock();
    job();
    job = nullptr; // release captures outside the lock
    guard.lock();
  }
  --core->alive;
  core->thread_exited.notify_all();
}

class thread_runner : public job_runner {
public:
  thread_runner(std::string name, size_t max_threads,
                std::chrono::milliseconds grace)
    : name_(std::move(name)),
      max_threads_(max_threads == 0 ? 1 : max_threads),
      grace_(grace),
      core_(std::make_shared<pool_core>()) {
    // pthread names are at most 15 characters.
    if (name_.size() > 15)
      name_.resize(15);
  }

  ~thread_runner() override {
    {
      std::unique_lock<std::mutex> guard{core_->mtx};
      core_->stopping = true;
      core_->work_added.notify_all();
      core_->thread_exited.wait_for(guard, grace_,
                                    [&] { return core_->alive == 0; });
    }
    for (auto& t : threads_)
      t.detach(); // exited ones are gone; stuck ones own a core reference
  }

  void submit(std::function<void()> job) override {
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      core_->jobs.push_back(std::move(job));
      if (core_->idle < core_->jobs.size() && threads_.size() < max_threads_) {
        ++core_->alive;
        threads_.emplace_back(worker_loop, core_);
        pthread_setname_np(threads_.back().native_handle(), name_.c_str());
        return;
      }
    }
    // Woken once the lock is let go: a thread woken on this CPU would take
    // it from us, find the lock still held and sleep again (two context
    // switches more per job).
    core_->work_added.notify_one();
  }

private:
  std::string name_;
  size_t max_threads_;
  std::chrono::milliseconds grace_;
  std::shared_ptr<pool_core> core_;
  std::vector<std::thread> threads_;
};

} // namespace

job_runner_ptr make_thread_runner(std::string name, size_t max_threads,
                                  std::chrono::milliseconds grace) {
  return std::make_shared<thread_runner>(std::move(name), max_threads, grace);
}

job_runner_factory default_runner_factory(std::string name) {
  return [name](size_t max_concurrency) {
    return make_thread_runner(name, max_concurrency);
  };
}

} // namespace mesh
