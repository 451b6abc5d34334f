#include <algorithm>
#include <cmath>

#include "cluster/backoff.hpp"
#include "cluster/failure_detector.hpp"
#include "cluster/peer_state.hpp"

namespace mesh {

const char* to_string(peer_state x) noexcept {
  switch (x) {
    case peer_state::joining: return "joining";
    case peer_state::up: return "up";
    case peer_state::suspect: return "suspect";
    case peer_state::down: return "down";
    case peer_state::left: return "left";
  }
  return "down";
}

std::optional<peer_state> peer_state_from_string(std::string_view name) {
  for (auto x : {peer_state::joining, peer_state::up, peer_state::suspect,
                 peer_state::down, peer_state::left})
    if (name == to_string(x))
      return x;
  return std::nullopt;
}

peer_state failure_detector::assess(clock::time_point now) const noexcept {
  auto silence = now - last_;
  if (silence >= timeout())
    return peer_state::down;
  // Half the threshold without news: suspect; but never before one and a
  // half intervals, or a beat that is merely on time (1000 ms x 3) would
  // make a healthy peer flap between up and suspect.
  auto suspect_after
    = std::max(timeout() / 2, interval_ + interval_ / 2);
  if (silence > suspect_after)
    return peer_state::suspect;
  return peer_state::up;
}

std::chrono::nanoseconds next_beat_delay(std::chrono::nanoseconds since_epoch,
                                         std::chrono::milliseconds interval) {
  std::chrono::nanoseconds period = interval;
  if (period.count() <= 0)
    return period;
  auto into = since_epoch % period;
  if (into.count() < 0)
    into += period;
  auto delay = period - into;
  if (delay < period / 10)
    delay += period;
  return delay;
}

std::chrono::milliseconds backoff::next(double random01) noexcept {
  auto exponent = std::min<uint32_t>(attempts_, 30);
  ++attempts_;
  auto base = static_cast<double>(initial_.count()) * std::pow(2.0, exponent);
  base = std::min(base, static_cast<double>(max_.count()));
  auto spread = base * jitter_ * (2.0 * random01 - 1.0);
  auto delay = std::max(1.0, base + spread);
  return std::chrono::milliseconds{static_cast<int64_t>(delay)};
}

} // namespace mesh
