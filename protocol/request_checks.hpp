#pragma once

// The checks every request passes before it is routed: pure functions,
// shared by Serve and Dispatch, testable without an actor system.

#include <cstddef>
#include <string>
#include <string_view>

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

/// The longest trace id a caller may choose.
constexpr size_t max_trace_id_size = 128;

/// Checks a trace id a caller chose: empty (the node makes one) or 1 to
/// max_trace_id_size characters of A-Z a-z 0-9 . _ : -. Trace ids end up in
/// logs, HTTP headers and gRPC metadata, which must not carry other bytes
/// (a newline forges log lines, a non-ASCII byte in gRPC metadata aborts
/// the process). Returns what is wrong, naming `field`, or an empty string.
std::string check_trace_id(std::string_view id,
                           std::string_view field = "trace_id");

} // namespace mesh
