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
      case caf::sec::invalid_argument:
        // CAF's answer to a request sent to an empty handle (no context):
        // here, the slot of an actor that is restarting. With a context it
        // is another failure (malformed bytes in proto_inspect.hpp).
        return err.context().empty() ? status_code::unavailable
                                     : status_code::invalid_argument;
      case caf::sec::request_receiver_down:
      case caf::sec::no_route_to_receiving_node:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::cannot_open_port:
      case caf::sec::network_syscall_failed:
      case caf::sec::no_actor_published_at_port:
      case caf::sec::remote_linking_failed:
      case caf::sec::disconnect_during_handshake:
      case caf::sec::connection_timeout:
        return status_code::unavailable;
      case caf::sec::unexpected_message:
      case caf::sec::unexpected_actor_messaging_interface:
      case caf::sec::incompatible_versions:
      case caf::sec::incompatible_application_ids:
      case caf::sec::malformed_basp_message:
      case caf::sec::unknown_type:
      case caf::sec::invalid_protocol_family:
        return status_code::invalid_argument;
      default: break;
    }
  }
  if (err.category() == caf::atom("exit"))
    return status_code::unavailable; // the receiver or its link went away
  return status_code::internal;
}

namespace {

// What CAF's own errors mean, in Mesh's words (never "system_error(...)").
std::string explain_runtime_error(const caf::error& err) {
  if (err.category() == caf::atom("exit"))
    return "the connection or the actor that should answer went away";
  if (err.category() != caf::atom("system"))
    return "internal error (" + std::to_string(err.code()) + ")";
  switch (static_cast<caf::sec>(err.code())) {
    case caf::sec::request_timeout:
      return "no answer within the time allowed";
    case caf::sec::request_receiver_down:
      return "the part of the node that should answer is not running (it "
             "stopped, or the node is shutting down)";
    case caf::sec::invalid_argument:
      if (err.context().match_elements<std::string>())
        return err.context().get_as<std::string>(0);
      if (!err.context().empty())
        return "invalid argument";
      return "the part of the node that should answer is not running (it "
             "is restarting, or this node does not run it)";
    case caf::sec::no_route_to_receiving_node:
      return "no connection to the node that should answer";
    case caf::sec::cannot_connect_to_node:
      return "cannot connect to that address (nothing listens there, or it "
             "is not a Mesh port of the same transport)";
    case caf::sec::disconnect_during_handshake:
      return "the connection closed during the handshake (a TLS and a "
             "plaintext endpoint, or a certificate that was refused)";
    case caf::sec::connection_timeout:
      return "the connection went silent and timed out";
    case caf::sec::cannot_open_port:
      return "cannot open that port (another process listens there, or the "
             "address is not one of this machine's)";
    case caf::sec::network_syscall_failed:
      return "a network system call failed";
    case caf::sec::no_actor_published_at_port:
      return "nothing Mesh answers at that port (wrong port?)";
    case caf::sec::invalid_protocol_family:
      return "that address is of no protocol family this node speaks";
    case caf::sec::malformed_basp_message:
      return "the other side sent a message that is not Mesh's transport "
             "(wrong port, or another program)";
    case caf::sec::unknown_type:
      return "the other side sent a type this node does not know (another "
             "version of Mesh?)";
    case caf::sec::unexpected_message:
      return "the receiver does not take this request (wrong port, or "
             "another version of Mesh)";
    case caf::sec::unexpected_actor_messaging_interface:
      return "the actor at that port is not the one expected (wrong port?)";
    case caf::sec::incompatible_versions:
    case caf::sec::incompatible_application_ids:
      return "the other side speaks another version of the protocol";
    case caf::sec::unexpected_response:
      return "the answer was not of the expected kind";
    case caf::sec::runtime_error:
      return "a part of the node failed with an internal error";
    default:
      return "internal error in the actor runtime (code "
             + std::to_string(err.code()) + ")";
  }
}

} // namespace

std::string error_text(const caf::error& err) {
  if (!err)
    return "ok";
  if (err.category() == status_category) {
    if (err.context().match_elements<std::string>())
      return err.context().get_as<std::string>(0);
    return to_string(to_status_code(err));
  }
  return explain_runtime_error(err);
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

int32_t http_code_of(status_code code) noexcept {
  switch (code) {
    case status_code::ok:
      return 200;
    case status_code::invalid_argument:
      return 400;
    case status_code::permission_denied:
      return 403;
    case status_code::not_found:
      return 404;
    case status_code::overloaded:
      return 429;
    case status_code::unavailable:
      return 503;
    case status_code::deadline_exceeded:
      return 504;
    case status_code::handler_error:
    case status_code::internal:
      break;
  }
  return 500;
}

} // namespace mesh
