#include "cluster/transport/frame_format.hpp"

namespace mesh {

void put_frame_header(uint8_t* p, frame_kind kind, size_t size) noexcept {
  auto n = static_cast<uint32_t>(size + 1);
  p[0] = static_cast<uint8_t>(n >> 24);
  p[1] = static_cast<uint8_t>(n >> 16);
  p[2] = static_cast<uint8_t>(n >> 8);
  p[3] = static_cast<uint8_t>(n);
  p[4] = static_cast<uint8_t>(kind);
}

frame_step read_frame(std::string_view in, size_t max_body) noexcept {
  frame_step step;
  if (in.size() < frame_header_size)
    return step;
  auto* p = reinterpret_cast<const uint8_t*>(in.data());
  uint32_t length = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
                    | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (length == 0 || length - 1 > max_body) {
    step.what = frame_step::outcome::too_big;
    step.length = length;
    return step;
  }
  if (in.size() - 4 < length)
    return step;
  step.what = frame_step::outcome::frame;
  step.kind = p[4];
  step.body = in.substr(frame_header_size, length - 1);
  step.consumed = 4 + size_t{length};
  return step;
}

} // namespace mesh
