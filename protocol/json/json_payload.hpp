#pragma once

// JSON payloads on the wire: a JSON document travels as a packed
// google.protobuf.Value inside the request's google.protobuf.Any, so meshctl,
// JSON handlers and typed protobuf handlers share one envelope.

#include <cstddef>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

namespace google::protobuf {
class Any;
class Value;
} // namespace google::protobuf

namespace mesh {

/// The deepest JSON payload this process carries (`limits.max_json_depth`,
/// default 64): deeper payloads are refused with an error naming the limit,
/// on every path, and everything up to it round-trips unchanged.
size_t max_json_depth();

/// Sets max_json_depth() for this process (the node does, at start-up).
void set_max_json_depth(size_t depth);

/// Converts JSON to a google.protobuf.Value. Numbers become doubles (as in
/// protobuf's own JSON mapping); integers beyond 2^53 lose precision.
void json_to_value(const nlohmann::json& in, google::protobuf::Value& out);

/// Converts a google.protobuf.Value back to JSON. Whole doubles that fit an
/// int64 come back as integers, so `{"id": 42}` round-trips unchanged.
nlohmann::json value_to_json(const google::protobuf::Value& in);

/// Packs JSON into an Any holding a google.protobuf.Value.
google::protobuf::Any json_to_any(const nlohmann::json& in);

/// Unpacks JSON from an Any. An empty Any is JSON null; an Any holding
/// google.protobuf.Struct, ListValue or StringValue converts too; any other
/// type is an `invalid_argument` error naming the type URL, and so is a
/// document nested deeper than max_json_depth().
caf::expected<nlohmann::json> any_to_json(const google::protobuf::Any& in);

/// JSON for showing any payload to a person or a script: the JSON itself
/// when `in` holds JSON, else {"@type": type_url, "base64": bytes}.
nlohmann::json any_to_display_json(const google::protobuf::Any& in);

/// True when `in` holds a type `any_to_json` understands.
bool is_json_any(const google::protobuf::Any& in);

} // namespace mesh
