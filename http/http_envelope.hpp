#pragma once

// The pure part of the node's HTTP API (no sockets, no actors): the one
// envelope every answer wears, the HTTP status it travels with, W3C trace
// context, bearer tokens, and how query strings become command arguments.
//
// The envelope, errors included (README "HTTP API"):
//   {"ok": true,  "status": "ok",   "code": 0, "result": ANY}
//   {"ok": false, "status": NAME, "code": N, "error": TEXT, "result"?: ANY}
// plus "unauthenticated": true on a refused token; no other top-level key.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/json/envelope.hpp"
#include "protocol/status.hpp"

namespace mesh {

/// The HTTP status that carries Mesh status `code`: ok 200,
/// invalid_argument 400, permission_denied 403 (401 when
/// `unauthenticated`: no or a wrong token), not_found 404, overloaded 429,
/// handler_error and internal 500, unavailable 503, deadline_exceeded 504.
int http_status(status_code code, bool unauthenticated = false);

/// The HTTP status of an envelope (its "status", else its "code"; anything
/// else, or a malformed envelope, is 500).
int http_status(const nlohmann::json& envelope);


/// `reply` as an envelope. An envelope passes unchanged, "code" added if it
/// lacked one. A reply without a boolean "ok" is a plain result (an ok
/// envelope around it). A flat reply ({"ok", "status", "handled_by", ...})
/// keeps ok/status/code/error/unauthenticated at the top and moves every
/// other key into "result". An unknown status name is `internal`.
nlohmann::json to_envelope(nlohmann::json reply);

/// A parsed `traceparent` header (W3C Trace Context).
struct trace_context {
  std::string trace_id;  ///< 32 lower-case hex digits, not all zero
  std::string parent_id; ///< 16 lower-case hex digits, not all zero
  uint8_t flags = 0;
};

/// Parses "VERSION-TRACEID-PARENTID-FLAGS" (version 00: exactly that; a
/// later version may append "-..."; version ff is invalid). nullopt for
/// anything malformed: a bad header is ignored, never an error, as the
/// W3C text asks.
std::optional<trace_context> parse_traceparent(std::string_view header);

/// True for 32 lower-case hex digits that are not all zero.
bool is_trace_id(std::string_view text);

/// "00-<trace_id>-<span_id>-01" (sampled).
std::string make_traceparent(std::string_view trace_id,
                             std::string_view span_id);

/// Gives a command the trace of an incoming traceparent: when `args` has
/// neither "trace_id" nor "trace", sets both (workflow_run reads
/// "trace_id"; dispatch, process and publish read "trace"; every command
/// ignores what it does not read). False when `args` already named one.
bool adopt_trace(nlohmann::json& args, const trace_context& trace);

/// The trace id of an answer ("result"."trace_id"), if it is one.
std::optional<std::string> reply_trace_id(const nlohmann::json& envelope);

/// The token of "Bearer TOKEN" (scheme in any case); nullopt for no header
/// or another scheme.
std::optional<std::string> bearer_token(std::string_view authorization);

/// Query parameters as command arguments: a value that parses as JSON is
/// taken as JSON (limit=10 is a number, async=true a boolean, id="12" a
/// string), anything else as the string it is; a repeated key becomes an
/// array of its values, in order.
nlohmann::json
query_args(const std::multimap<std::string, std::string>& params);

/// How long the server waits for the console's answer to `command`: a
/// little longer than the command may take by itself. Requests carry
/// deadlines up to `max_deadline` (limits.max_deadline_ms); workflow runs
/// and cancellations wait "wait_ms" (default 5 minutes).
std::chrono::milliseconds reply_timeout(const nlohmann::json& command,
                                        std::chrono::milliseconds max_deadline);

/// The largest request body accepted: the payload limit plus room for the
/// command's other fields and the JSON quoting of the payload.
size_t max_body_bytes(size_t max_payload_bytes);

} // namespace mesh
