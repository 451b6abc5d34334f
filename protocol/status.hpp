#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace mesh {

/// The one status vocabulary of Mesh. Every reply, every error and every log
/// line about a request speaks it. The numeric codes are stable and equal to
/// `mesh.pb.StatusCode` (and to gRPC's numbers where the meaning is the same);
/// never renumber or reuse one.
enum class status_code : uint8_t {
  ok = 0,
  handler_error = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  permission_denied = 7,
  overloaded = 8,
  internal = 13,
  unavailable = 14,
};

/// Every code, in numeric order (for tables, tests and parsing).
inline constexpr status_code all_status_codes[] = {
  status_code::ok,          status_code::handler_error,
  status_code::invalid_argument, status_code::deadline_exceeded,
  status_code::not_found,   status_code::permission_denied,
  status_code::overloaded,  status_code::internal,
  status_code::unavailable,
};

/// The lower-case name of `x`, e.g. "not_found".
const char* to_string(status_code x) noexcept;

/// The HTTP-style number of a status (seed 001's Status.code, and the HTTP
/// API's response status): 200, 400, 403, 404, 429, 500, 503, 504.
int32_t http_code_of(status_code x) noexcept;

/// Parses a name produced by `to_string`.
std::optional<status_code> status_code_from_string(std::string_view name);

/// Parses a numeric code; `nullopt` for numbers outside the vocabulary.
std::optional<status_code> status_code_from_int(int code);

/// True when the same request may succeed if sent again unchanged: the node
/// was unavailable or overloaded, nothing ran. Deadline and handler errors
/// are not retryable: the handler may have run.
constexpr bool is_retryable(status_code x) noexcept {
  return x == status_code::unavailable || x == status_code::overloaded;
}

/// The CAF error category of `status_code` values.
inline constexpr caf::atom_value status_category = caf::atom("mesh");

/// Wraps a status into a `caf::error` of our category (code 0 is no error).
caf::error make_error(status_code code, std::string message);

/// Extracts our status from a CAF error: our category maps one-to-one, CAF's
/// own errors map to the closest status (e.g. a timed-out request to
/// `deadline_exceeded`, a dead receiver to `unavailable`).
status_code to_status_code(const caf::error& err) noexcept;

/// The human-readable text of an error: the message of one of ours, or
/// CAF's rendering of anything else.
std::string error_text(const caf::error& err);

/// Renders an error of our category for `actor_system::render`.
std::string render_status_error(uint8_t code, const caf::message& context);

} // namespace mesh
