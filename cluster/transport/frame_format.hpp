#pragma once

// The data plane's frames, apart from the sockets so that they are tested
// and fuzzed on their own (tests/unit/cluster/transport/
// frame_format_test.cpp, fuzz_data_frames): a 4-byte big-endian length of
// what follows, one byte of kind, then the body.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mesh {

/// What a frame's kind byte says.
enum class frame_kind : uint8_t {
  hello = 1,   ///< the dialler's first frame: the token it was given
  request = 2, ///< dialler to acceptor: a batch of requests
  reply = 3,   ///< acceptor to dialler: answers to them
};

/// Bytes before a frame's body: its length (4) and kind (1).
inline constexpr size_t frame_header_size = 5;

/// Writes the header of a frame of `kind` with a body of `size` bytes into
/// the frame_header_size bytes at `p`.
void put_frame_header(uint8_t* p, frame_kind kind, size_t size) noexcept;

/// One step of reading: the frame at the start of the bytes, or why none.
struct frame_step {
  enum class outcome : uint8_t {
    frame,     ///< a whole frame: kind, body and consumed are set
    need_more, ///< only part of a frame (or of its header) is there yet
    too_big,   ///< its length is 0 or says more body than allowed: the
               ///< connection must close (nothing after it can be read)
  };
  outcome what = outcome::need_more;
  uint8_t kind = 0;      ///< the kind byte as sent (it may be unknown)
  std::string_view body; ///< points into the bytes given
  size_t consumed = 0;   ///< frame: header and body
  uint32_t length = 0;   ///< too_big: the length field
};

/// Reads the frame at the start of `in`, whose body may have at most
/// `max_body` bytes. Never reads past `in`.
frame_step read_frame(std::string_view in, size_t max_body) noexcept;

} // namespace mesh
