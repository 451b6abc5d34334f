#include "topics/dispatch_status.hpp"

namespace mesh {

namespace {

constexpr const char* names[] = {"success",          "routed",
                                 "no_dispatcher",    "dispatcher_error",
                                 "timeout",          "invalid_message",
                                 "publish_failed",   "skipped"};

} // namespace

const char* to_string(dispatch_status x) {
  return names[static_cast<size_t>(x)];
}

std::optional<dispatch_status> parse_dispatch_status(std::string_view x) {
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
    if (x == names[i])
      return static_cast<dispatch_status>(i);
  return std::nullopt;
}

status_code publish_status_code(std::string_view status) {
  auto s = parse_dispatch_status(status);
  if (!s)
    return status_code::internal;
  switch (*s) {
    case dispatch_status::success:
      return status_code::ok;
    case dispatch_status::no_dispatcher:
      return status_code::not_found;
    case dispatch_status::timeout:
      return status_code::deadline_exceeded;
    case dispatch_status::invalid_message:
      return status_code::invalid_argument;
    case dispatch_status::publish_failed:
      return status_code::unavailable;
    case dispatch_status::dispatcher_error:
      return status_code::handler_error;
    default:
      return status_code::internal;
  }
}

} // namespace mesh
