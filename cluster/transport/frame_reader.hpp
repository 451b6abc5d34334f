#pragma once

// Reading the data plane's frames out of the bytes a link received, apart
// from the sockets so that it is tested and fuzzed on its own
// (tests/unit/cluster/frame_reader_test.cpp, fuzz_data_frames). A frame is
// a 4-byte big-endian length of what follows, one byte of kind, then the
// body (data_link.hpp).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mesh {

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
