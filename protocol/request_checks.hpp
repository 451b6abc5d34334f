#pragma once

// The checks every request passes before it is routed: pure functions,
// shared by Serve and Dispatch, testable without an actor system.

#include <cstddef>
#include <string>

#include "protocol/status.hpp"

namespace google::protobuf {
class Any;
} // namespace google::protobuf

namespace mesh {

namespace pb {
class ServiceRef;
} // namespace pb

struct request_problem {
  status_code code = status_code::ok;
  std::string message;
  explicit operator bool() const { return code != status_code::ok; }
};

/// Checks the handler name and the payload size, in this order:
/// - a missing or malformed namespace, service or method:
///   `invalid_argument` naming the field;
/// - a payload larger than `max_payload_bytes`: `invalid_argument` with both
///   sizes.
request_problem check_request(const pb::ServiceRef& ref,
                              const google::protobuf::Any& payload,
                              size_t max_payload_bytes);

/// A random 128-bit trace id as 32 lower-case hex digits.
std::string make_trace_id();

} // namespace mesh
