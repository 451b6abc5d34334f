#pragma once

// JSON from outside (files, payloads, console commands, peers), read and
// written so that nothing can throw past us, recurse without bound or emit
// invalid UTF-8: a bad document is an error that says what and where.

#include <cstddef>
#include <string>
#include <string_view>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace mesh {

/// Nesting depth a document may have unless configured otherwise
/// (`limits.max_json_depth`); config files always use this bound.
inline constexpr size_t default_max_json_depth = 64;

/// The deepest nesting of arrays and objects in `text`, found by a linear
/// scan that skips strings: cheap, and safe on any input. Stops counting
/// (and returns `stop`) once the depth reaches `stop`.
size_t json_text_depth(std::string_view text, size_t stop = SIZE_MAX);

/// Parses `text`: never throws. Errors (`invalid_argument`) say
/// "LINE:COLUMN: what" for syntax errors and invalid UTF-8, what for a
/// number out of range (1e400),
/// or that the document nests deeper than `max_depth` levels (checked before
/// parsing, so no parser or schema compiler ever sees such a document).
caf::expected<nlohmann::json> parse_json(std::string_view text,
                                         size_t max_depth
                                         = default_max_json_depth);

/// The depth of a parsed document (0 for a scalar, 1 for [] or {}).
size_t json_depth(const nlohmann::json& doc);

/// `doc` as text; invalid UTF-8 in strings becomes U+FFFD instead of an
/// exception. `indent` < 0: one line.
std::string dump_json(const nlohmann::json& doc, int indent = -1);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD, so an error
/// message that quotes input is always printable and serialisable.
std::string valid_utf8(std::string_view text);

/// One reference token of a JSON pointer (RFC 6901): "~" as "~0", "/" as
/// "~1".
std::string json_pointer_token(std::string_view key);

} // namespace mesh
