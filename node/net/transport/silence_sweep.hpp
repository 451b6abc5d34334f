#pragma once

// silence_sweep: a thread that, every `period`, closes the node's CAF
// connections that have not received a byte within `silence` of their
// start (guarded_transport.hpp's silent_connections): a stranger that
// connects to the peer or console port and says nothing is cut after 10 s,
// as the HTTP API and the gRPC door cut one. Stops (joined) when destroyed.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "node/net/transport/guarded_transport.hpp"

namespace mesh {

class silence_sweep {
public:
  silence_sweep(std::shared_ptr<silent_connections> silent,
                std::chrono::milliseconds period,
                std::chrono::milliseconds silence);

  ~silence_sweep();

  silence_sweep(const silence_sweep&) = delete;
  silence_sweep& operator=(const silence_sweep&) = delete;

private:
  void run();

  std::shared_ptr<silent_connections> silent_;
  std::chrono::milliseconds period_;
  std::chrono::milliseconds silence_;
  std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_; // last: starts once the rest is set
};

} // namespace mesh
