#define CAF_SUITE protocol.status
#include <caf/test/unit_test.hpp>

#include <caf/sec.hpp>

#include <set>

#include "protocol/mesh.pb.h"
#include "protocol/status.hpp"

using namespace mesh;

CAF_TEST(codes are stable and match the wire enum) {
  // The numbers are part of the protocol: changing one breaks every peer.
  CAF_CHECK_EQUAL(static_cast<int>(status_code::ok), 0);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::handler_error), 2);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::invalid_argument), 3);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::deadline_exceeded), 4);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::not_found), 5);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::permission_denied), 7);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::overloaded), 8);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::internal), 13);
  CAF_CHECK_EQUAL(static_cast<int>(status_code::unavailable), 14);
  for (auto x : all_status_codes)
    CAF_CHECK(pb::StatusCode_IsValid(static_cast<int>(x)));
  CAF_CHECK_EQUAL(pb::StatusCode_descriptor()->value_count(),
                  static_cast<int>(std::size(all_status_codes)));
}

CAF_TEST(names round-trip and are unique) {
  std::set<std::string> names;
  for (auto x : all_status_codes) {
    names.insert(to_string(x));
    CAF_CHECK(status_code_from_string(to_string(x)) == x);
    CAF_CHECK(status_code_from_int(static_cast<int>(x)) == x);
  }
  CAF_CHECK_EQUAL(names.size(), std::size(all_status_codes));
  CAF_CHECK_EQUAL(std::string{to_string(status_code::not_found)}, "not_found");
  CAF_CHECK(!status_code_from_string("nope"));
  CAF_CHECK(!status_code_from_int(1));
  CAF_CHECK(!status_code_from_int(99));
}

CAF_TEST(only unavailable and overloaded are retryable) {
  for (auto x : all_status_codes) {
    bool expected = x == status_code::unavailable
                    || x == status_code::overloaded;
    CAF_CHECK_EQUAL(is_retryable(x), expected);
  }
}

CAF_TEST(errors carry the code and message) {
  auto err = make_error(status_code::not_found, "no handler");
  CAF_CHECK_EQUAL(err.category(), status_category);
  CAF_CHECK(to_status_code(err) == status_code::not_found);
  CAF_CHECK_EQUAL(error_text(err), "no handler");
  CAF_CHECK(!make_error(status_code::ok, "fine"));
  CAF_CHECK(to_status_code(caf::error{}) == status_code::ok);
  CAF_CHECK_EQUAL(render_status_error(5, caf::make_message(std::string{"x"})),
                  "mesh error: not_found: x");
}

CAF_TEST(CAF errors map to the closest status) {
  CAF_CHECK(to_status_code(caf::make_error(caf::sec::request_timeout))
            == status_code::deadline_exceeded);
  CAF_CHECK(to_status_code(caf::make_error(caf::sec::request_receiver_down))
            == status_code::unavailable);
  // A request to an empty handle (an actor slot while it restarts).
  CAF_CHECK(to_status_code(caf::make_error(caf::sec::invalid_argument))
            == status_code::unavailable);
  CAF_CHECK(error_text(caf::make_error(caf::sec::invalid_argument))
              .find("is not running")
            != std::string::npos);
  // With a context it is another failure: malformed bytes, say.
  auto bad_bytes = caf::make_error(caf::sec::invalid_argument,
                                   "malformed protobuf bytes for x.Y");
  CAF_CHECK(to_status_code(bad_bytes) == status_code::invalid_argument);
  CAF_CHECK_EQUAL(error_text(bad_bytes), "malformed protobuf bytes for x.Y");
  CAF_CHECK(to_status_code(caf::make_error(caf::sec::runtime_error))
            == status_code::internal);
  // CAF errors a user can meet are said in Mesh's words, not by number.
  for (auto code : {caf::sec::no_actor_published_at_port,
                    caf::sec::invalid_protocol_family,
                    caf::sec::malformed_basp_message, caf::sec::unknown_type,
                    caf::sec::network_syscall_failed})
    CAF_CHECK(error_text(caf::make_error(code)).find("actor runtime (code")
              == std::string::npos);
  // A port in use (a second node on the same console port, say).
  CAF_CHECK(to_status_code(caf::make_error(caf::sec::cannot_open_port))
            == status_code::unavailable);
  CAF_CHECK(error_text(caf::make_error(caf::sec::cannot_open_port))
              .find("another process listens there")
            != std::string::npos);
}
