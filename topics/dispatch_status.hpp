#pragma once

// The outcome of a publish (seed 004's EnumDispatchStatus).

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/status.hpp"

namespace mesh {

enum class dispatch_status : uint8_t {
  success,          ///< routed, dispatched, outputs published
  routed,           ///< routed to a dispatcher, not yet run (not terminal)
  no_dispatcher,    ///< no enabled route of the category and type matched
  dispatcher_error, ///< a dispatcher failed (its error is in the result)
  timeout,          ///< a dispatcher did not answer within its timeout
  invalid_message,  ///< bad topic (wildcard, reserved, empty token), category
  publish_failed,   ///< a node's part could not be delivered (peer down)
  skipped,          ///< intentionally not dispatched
};

const char* to_string(dispatch_status x);
std::optional<dispatch_status> parse_dispatch_status(std::string_view x);

/// The Mesh status a publish's outcome answers with (console, gRPC):
/// success ok, no_dispatcher not_found, timeout deadline_exceeded,
/// invalid_message invalid_argument, publish_failed unavailable,
/// dispatcher_error handler_error, anything else internal.
status_code publish_status_code(std::string_view status);

/// Everything but `routed`.
constexpr bool is_terminal(dispatch_status x) {
  return x != dispatch_status::routed;
}

constexpr bool is_successful(dispatch_status x) {
  return x == dispatch_status::success;
}

/// no_dispatcher, dispatcher_error, timeout, invalid_message, publish_failed.
constexpr bool is_error(dispatch_status x) {
  return x == dispatch_status::no_dispatcher
         || x == dispatch_status::dispatcher_error
         || x == dispatch_status::timeout
         || x == dispatch_status::invalid_message
         || x == dispatch_status::publish_failed;
}

/// Transient failures: timeout, publish_failed.
constexpr bool requires_retry(dispatch_status x) {
  return x == dispatch_status::timeout
         || x == dispatch_status::publish_failed;
}

} // namespace mesh
