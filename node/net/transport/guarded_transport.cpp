#include "node/net/transport/guarded_transport.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>

#include <caf/actor_system.hpp>
#include <caf/io/network/scribe_impl.hpp>

#include "node/net/transport/guarded_scribe.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

std::atomic<size_t> refused_count{0};

} // namespace

bool transport_refusal_worth_logging() {
  auto n = refused_count.fetch_add(1) + 1;
  return n <= 3 || n % 1000 == 0;
}

void silent_connections::add(const void* owner, int fd) {
  std::lock_guard<std::mutex> guard{mtx_};
  items_.push_back({owner, fd, clock_type::now()});
}

void silent_connections::remove(const void* owner) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = std::find_if(items_.begin(), items_.end(),
                        [owner](const entry& e) { return e.owner == owner; });
  if (i != items_.end()) {
    *i = items_.back();
    items_.pop_back();
  }
}

size_t silent_connections::close_older_than(clock_type::duration silence) {
  auto cut = clock_type::now() - silence;
  size_t closed = 0;
  std::lock_guard<std::mutex> guard{mtx_};
  // Each owner removes its entry before its socket is closed, under this
  // lock: every fd listed is still its owner's.
  for (size_t i = 0; i < items_.size();) {
    if (items_[i].since > cut) {
      ++i;
      continue;
    }
    ::shutdown(items_[i].fd, SHUT_RDWR);
    ++closed;
    items_[i] = items_.back();
    items_.pop_back();
  }
  if (closed > 0 && transport_refusal_worth_logging())
    log::get("cluster")->warn(
      "closed {} connection(s) that sent nothing within {} ms of their start",
      closed,
      std::chrono::duration_cast<std::chrono::milliseconds>(silence).count());
  return closed;
}

guarded_multiplexer::guarded_multiplexer(caf::actor_system* sys)
  : default_multiplexer(sys) {
  if (auto* cfg = dynamic_cast<const guarded_config*>(&sys->config()))
    limits_ = cfg->transport;
}

caf::io::scribe_ptr
guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  // Launched by its first configure_read, like CAF's own.
  return caf::make_counted<
    guarded_scribe<caf::io::network::scribe_impl>>(*this, fd, limits_, silent_);
}

} // namespace mesh
