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

} // namespace mesh
