#pragma once

// value_wire: a google.protobuf.Value written in protobuf's wire format
// without protobuf's generic serializer. A process request's input_args
// become its dispatch payload this way on every decision; the generic path
// (ByteSizeLong, then a map walk that syncs and re-validates every key) was
// 6 % of a node's CPU under process load.

#include <string>

namespace google::protobuf {
class Value;
} // namespace google::protobuf

namespace mesh {

/// Replaces `out` with the wire bytes of `value`: what
/// `value.SerializeToString(&out)` writes, the order of a Struct's fields
/// aside (protobuf leaves it unspecified as well). Parsing the bytes as a
/// Value gives `value` back. Recursion follows the value's nesting, as
/// protobuf's own serializer does; values parsed from the network are
/// bounded by the parser's depth limit.
void serialize_value(const google::protobuf::Value& value, std::string& out);

} // namespace mesh
