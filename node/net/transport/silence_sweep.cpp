#include "node/net/transport/silence_sweep.hpp"

#include <utility>

namespace mesh {

silence_sweep::silence_sweep(std::shared_ptr<silent_connections> silent,
                             std::chrono::milliseconds period,
                             std::chrono::milliseconds silence)
  : silent_(std::move(silent)),
    period_(period),
    silence_(silence),
    thread_([this] { run(); }) {
}

silence_sweep::~silence_sweep() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void silence_sweep::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; }))
    silent_->close_older_than(silence_);
}

} // namespace mesh
