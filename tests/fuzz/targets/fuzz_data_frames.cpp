// Fuzz target: the bytes a data-plane connection receives (the data port
// is reachable before any token is shown). The first byte picks the bound
// (a hello's 256 bytes or a proven link's 1 MiB) and the size of the reads
// the bytes arrive in; the rest is read as the plane's thread reads it, and
// every request or reply body is parsed as the node parses it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/transport/frame_format.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace {

void check(bool ok) {
  if (!ok)
    std::abort(); // the fuzzer reports it with the input
}

void parse_body(uint8_t kind, std::string_view body) {
  auto* data = body.data();
  auto size = static_cast<int>(body.size());
  if (kind == static_cast<uint8_t>(mesh::frame_kind::request)) {
    mesh::pb::ServeBatch batch;
    if (batch.ParseFromArray(data, size))
      (void) (batch.tags_size() == batch.requests_size());
  } else if (kind == static_cast<uint8_t>(mesh::frame_kind::reply)) {
    mesh::pb::ServeReplies replies;
    if (replies.ParseFromArray(data, size))
      (void) (replies.tags_size() == replies.responses_size());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  size_t bound = (data[0] & 1) != 0 ? 256 : (1u << 20);
  size_t chunk = 1 + (data[0] >> 1); // 1 to 128 bytes per read
  std::string_view rest{reinterpret_cast<const char*>(data + 1), size - 1};
  std::string in;
  bool closed = false;
  while (!rest.empty() && !closed) {
    auto n = rest.size() < chunk ? rest.size() : chunk;
    in.append(rest.data(), n);
    rest.remove_prefix(n);
    size_t off = 0;
    for (;;) {
      auto step = mesh::read_frame(std::string_view{in}.substr(off), bound);
      if (step.what == mesh::frame_step::outcome::need_more)
        break;
      if (step.what == mesh::frame_step::outcome::too_big) {
        check(step.length == 0 || step.length - 1 > bound);
        closed = true;
        break;
      }
      check(step.consumed == mesh::frame_header_size + step.body.size());
      check(step.body.size() <= bound);
      check(off + step.consumed <= in.size());
      check(step.body.data() == in.data() + off + mesh::frame_header_size);
      parse_body(step.kind, step.body);
      off += step.consumed;
    }
    in.erase(0, off);
  }
  return 0;
}
