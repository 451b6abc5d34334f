#define CAF_SUITE transport.frame_format
#include <caf/test/unit_test.hpp>

#include <string>

#include "cluster/transport/frame_format.hpp"

// The data plane's frames written and read back from bytes, whole or in
// pieces, and the lengths that must close the connection.

using namespace mesh;
using outcome = frame_step::outcome;

namespace {

std::string frame(frame_kind kind, const std::string& body) {
  std::string out(frame_header_size, '\0');
  put_frame_header(reinterpret_cast<uint8_t*>(out.data()), kind, body.size());
  return out + body;
}

// A header with any length field, 0 and oversized ones included.
std::string header(uint32_t length, uint8_t kind) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length),
          static_cast<char>(kind)};
}

} // namespace

CAF_TEST(a whole frame is read with its kind and body and the rest is left) {
  auto bytes = frame(frame_kind::request, "batch") + frame(frame_kind::reply, "");
  auto first = read_frame(bytes, 64);
  CAF_REQUIRE(first.what == outcome::frame);
  CAF_CHECK_EQUAL(first.kind, 2);
  CAF_CHECK_EQUAL(first.body, "batch");
  CAF_CHECK_EQUAL(first.consumed, 10u);
  auto second = read_frame(std::string_view{bytes}.substr(first.consumed), 64);
  CAF_REQUIRE(second.what == outcome::frame);
  CAF_CHECK_EQUAL(second.kind, 3);
  CAF_CHECK(second.body.empty());
  CAF_CHECK_EQUAL(second.consumed, 5u);
}

CAF_TEST(every prefix of a frame asks for more) {
  auto bytes = frame(frame_kind::hello, std::string(40, 't'));
  for (size_t n = 0; n < bytes.size(); ++n)
    CAF_CHECK(read_frame(std::string_view{bytes}.substr(0, n), 64).what
              == outcome::need_more);
  CAF_CHECK(read_frame(bytes, 64).what == outcome::frame);
}

CAF_TEST(a zero length or a body over the bound closes the connection) {
  auto zero = read_frame(header(0, 1), 64);
  CAF_CHECK(zero.what == outcome::too_big);
  CAF_CHECK_EQUAL(zero.length, 0u);
  // 65 bytes of body with a bound of 64: refused from the header alone,
  // before any of the body arrives.
  auto over = read_frame(header(66, 2), 64);
  CAF_CHECK(over.what == outcome::too_big);
  CAF_CHECK_EQUAL(over.length, 66u);
  CAF_CHECK(read_frame(header(65, 2), 64).what == outcome::need_more);
  auto huge = read_frame(header(0xffffffffu, 2), 1u << 30);
  CAF_CHECK(huge.what == outcome::too_big);
  CAF_CHECK_EQUAL(huge.length, 0xffffffffu);
}

CAF_TEST(an unknown kind is read and left for the plane to refuse) {
  auto f = read_frame(header(2, 0xee) + "x", 8);
  CAF_REQUIRE(f.what == outcome::frame);
  CAF_CHECK_EQUAL(f.kind, 0xee);
}
