#pragma once

// data_link: one TCP connection of the data plane (data_plane.hpp), carrying
// length-prefixed frames: a 4-byte big-endian length of what follows, one
// byte of kind, then the body. Any thread may send on an open link: a frame
// goes straight to the socket from the sender's thread (no hop through
// another thread, which is what the data plane is for), or, when the socket
// cannot take it all, waits in the link's buffer for the plane's thread to
// drain it. Frames never interleave. With cluster TLS the link is a TLS
// stream (tls/data_tls.hpp): the same frames, through the link's session.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "cluster/transport/frame_format.hpp"

struct ssl_st;

namespace mesh {

class data_plane;
class data_link;
using data_link_ptr = std::shared_ptr<data_link>;

class data_link {
public:
  enum class role { inbound, outbound };

  /// Frames with a body over `max_body` are refused by send() (the peer
  /// would close the link on them); more than `max_pending` bytes waiting
  /// for a peer that stopped reading cut the link. `same_host`: see below.
  data_link(uint64_t id, int fd, role r, std::string peer,
            std::string incarnation, size_t max_body, size_t max_pending,
            bool same_host = false);
  ~data_link();

  data_link(const data_link&) = delete;
  data_link& operator=(const data_link&) = delete;

  /// Sends one frame whose body of `size` bytes `fill` writes into the
  /// pointer it is given. False when the link is closed, the frame is over
  /// the bound, or the peer stopped reading (the link is then cut): the
  /// caller sends another way.
  template <class Fill>
  bool send(frame_kind kind, size_t size, Fill&& fill) {
    if (size > max_body_)
      return false;
    std::string frame(frame_header_size + size, '\0');
    auto* p = reinterpret_cast<uint8_t*>(frame.data());
    put_frame_header(p, kind, size);
    fill(p + frame_header_size);
    return send_frame(std::move(frame));
  }

  /// Sends a frame built by the caller (header included).
  bool send_frame(std::string frame);

  uint64_t id() const {
    return id_;
  }

  /// The node at the other end: set for links this node dialled.
  const std::string& peer() const {
    return peer_;
  }

  const std::string& incarnation() const {
    return incarnation_;
  }

  role direction() const {
    return role_;
  }

  /// Inbound: the caller is on this host (data_sockets::same_host, read
  /// at accept), so the CPU numbers it sends name this machine's CPUs.
  bool same_host() const {
    return same_host_;
  }

  /// True while the link is ready and has not failed: frames go out on it.
  bool open() const;

  /// True until the link failed or was closed (connecting counts).
  bool alive() const;

private:
  friend class data_plane;

  // Called by the plane's thread only.
  void set_epoll(int epfd) {
    epfd_ = epfd;
  }
  /// Writes what the socket (or the TLS session) takes now: how many bytes
  /// (> 0), 0 when it must wait, -1 when the stream failed. Locked.
  ssize_t write_some_locked(const char* p, size_t n);
  /// Reads what came: how many bytes (> 0), 0 when nothing yet, -1 when
  /// the peer closed or the stream failed.
  ssize_t read_some(char* p, size_t n);
  /// The plane's thread waits for input, and for room to write when `out`.
  void watch_locked(bool out);
  /// Sends what waits in the buffer; true when it is empty.
  bool drain();
  /// Marks the link failed and wakes the plane's thread, which closes it.
  void fail_locked();
  void close_fd();

  const uint64_t id_;
  const role role_;
  const std::string peer_;
  const std::string incarnation_;
  const size_t max_body_;
  const size_t max_pending_;
  const bool same_host_;
  int epfd_ = -1;

  mutable std::mutex mtx_;
  int fd_;              ///< -1 once closed
  bool open_ = true;    ///< false once failed or closed
  bool ready_ = false;  ///< connected (outbound) or authenticated (inbound)
  bool overflowed_ = false; ///< failed because the peer stopped reading
  std::string pending_; ///< bytes the socket did not take yet
  ssl_st* ssl_ = nullptr; ///< TLS: set (by the plane's thread) before ready_

  // Guarded by the plane's mutex.
  uint64_t owner_ = 0;        ///< inbound: whose token it presented
  std::string from_;          ///< inbound: the caller's address bytes
  int64_t retire_at_ms_ = 0;  ///< outbound, replaced: closes then

  // The plane's thread alone touches these.
  std::string in_;        ///< bytes read, not yet a whole frame
  int64_t since_ms_ = 0;  ///< accepted or dial started (steady clock)
  bool tls_done_ = false; ///< TLS: the handshake is over
  std::function<bool(const data_link_ptr&, std::string_view)> on_request_;
};

} // namespace mesh
