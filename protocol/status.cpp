#include "protocol/status.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "protocol/mesh.pb.h"

namespace mesh {

// protocol/mesh.proto is the source of truth for the numbers.
#define MESH_SAME_CODE(ours, theirs)                                           \
  static_assert(static_cast<int>(status_code::ours) == pb::theirs,             \
                "status_code::" #ours " drifted from mesh.proto")
MESH_SAME_CODE(ok, OK);
MESH_SAME_CODE(handler_error, HANDLER_ERROR);
MESH_SAME_CODE(invalid_argument, INVALID_ARGUMENT);
MESH_SAME_CODE(deadline_exceeded, DEADLINE_EXCEEDED);
MESH_SAME_CODE(not_found, NOT_FOUND);
MESH_SAME_CODE(permission_denied, PERMISSION_DENIED);
MESH_SAME_CODE(overloaded, OVERLOADED);
MESH_SAME_CODE(internal, INTERNAL);
MESH_SAME_CODE(unavailable, UNAVAILABLE);
#undef MESH_SAME_CODE

const char* to_string(status_code x) noexcept {
  switch (x) {
    case status_code::ok: return "ok";
    case status_code::handler_error: return "handler_error";
    case status_code::invalid_argument: return "invalid_argument";
    case status_code::deadline_exceeded: return "deadline_exceeded";
    case status_code::not_found: return "not_found";
    case status_code::permission_denied: return "permission_denied";
    case status_code::overloaded: return "overloaded";
    case status_code::internal: return "internal";
    case status_code::unavailable: return "unavailable";
  }
  return "internal";
}

std::optional<status_code> status_code_from_string(std::string_view name) {
  for (auto x : all_status_codes)
    if (name == to_string(x))
      return x;
  return std::nullopt;
}

std::optional<status_code> status_code_from_int(int code) {
  for (auto x : all_status_codes)
    if (static_cast<int>(x) == code)
      return x;
  return std::nullopt;
}

caf::error make_error(status_code code, std::string message) {
  if (code == status_code::ok)
    return caf::none;
  return {static_cast<uint8_t>(code), status_category,
          caf::make_message(std::move(message))};
}

status_code to_status_code(const caf::error& err) noexcept {
  if (!err)
    return status_code::ok;
  if (err.category() == status_category) {
    if (auto x = status_code_from_int(err.code()))
      return *x;
    return status_code::internal;
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout: return status_code::deadline_exceeded;
      case caf::sec::request_receiver_down:
      case caf::sec::no_route_to_receiving_node:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::remote_linking_failed:
        return status_code::unavailable;
      default: break;
    }
  }
  return status_code::internal;
}

std::string error_text(const caf::error& err) {
  if (err.category() == status_category
      && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

std::string render_status_error(uint8_t code, const caf::message& context) {
  std::string result = "mesh error: ";
  if (auto x = status_code_from_int(code))
    result += to_string(*x);
  else
    result += "unknown(" + std::to_string(code) + ")";
  if (context.match_elements<std::string>()) {
    result += ": ";
    result += context.get_as<std::string>(0);
  }
  return result;
}

} // namespace mesh
