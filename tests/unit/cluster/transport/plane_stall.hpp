#pragma once

// A peer that stops reading, for the data plane's tests (plain and TLS):
// a token whose requests block the receiving plane's thread, and a flood
// that goes on until the sender's link is cut.

#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "cluster/transport/data_plane.hpp"

namespace mesh::test {

/// A token of `plane` whose requests wait for `gate` (which the test
/// holds): from the first request on, nothing reads the link's socket.
/// `entered` (if set) runs on the plane's thread before each wait.
inline std::string stalling_token(data_plane& plane, std::mutex& gate,
                                  std::function<void()> entered = {}) {
  return plane.issue_token(7, [&gate, entered](const data_link_ptr&,
                                               std::string_view) {
    if (entered)
      entered();
    std::lock_guard<std::mutex> wait{gate};
    return true;
  });
}

/// Sends request frames of 256 KiB on `link` until it refuses one (the
/// link was cut) or 1,000 went; how many went.
inline int flood_until_cut(const data_link_ptr& link) {
  std::string chunk(256 * 1024, 'x');
  int sent = 0;
  while (sent < 1000
         && link->send(frame_kind::request, chunk.size(), [&](uint8_t* p) {
              std::memcpy(p, chunk.data(), chunk.size());
            }))
    ++sent;
  return sent;
}

} // namespace mesh::test
