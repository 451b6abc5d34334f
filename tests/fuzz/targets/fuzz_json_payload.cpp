// Fuzz target: JSON payloads to protobuf (google.protobuf.Value in an Any)
// and back (and as wire bytes written by serialize_value), and raw bytes
// arriving as a JSON payload from the network.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <caf/config.hpp>
CAF_PUSH_WARNINGS
#include <google/protobuf/any.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/struct.pb.h>
CAF_POP_WARNINGS

#include "protocol/json/json_payload.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/value_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  // As JSON text (meshctl, the console): within the limit, it round-trips.
  if (auto doc = mesh::parse_json(text, mesh::max_json_depth())) {
    auto back = mesh::any_to_json(mesh::json_to_any(*doc));
    if (!back)
      std::abort(); // anything we accepted must come back
    (void) mesh::dump_json(*back);
    // Process dispatch writes input_args with serialize_value: as many
    // bytes as protobuf's serializer, and protobuf reads them back.
    google::protobuf::Value v;
    mesh::json_to_value(*doc, v);
    std::string bytes;
    mesh::serialize_value(v, bytes);
    google::protobuf::io::CodedInputStream in{
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size())};
    in.SetRecursionLimit(1 << 20); // JSON's own limit bounds the depth
    google::protobuf::Value parsed;
    if (bytes.size() != v.ByteSizeLong() || !parsed.ParseFromCodedStream(&in)
        || parsed.ByteSizeLong() != bytes.size())
      std::abort();
  }
  // As the bytes of a payload from a peer or a binary client.
  for (const char* type : {"type.googleapis.com/google.protobuf.Value",
                           "type.googleapis.com/google.protobuf.Struct",
                           "type.googleapis.com/google.protobuf.ListValue",
                           "type.googleapis.com/google.protobuf.StringValue"}) {
    google::protobuf::Any any;
    any.set_type_url(type);
    any.set_value(std::string{text});
    if (auto doc = mesh::any_to_json(any))
      (void) mesh::dump_json(*doc);
    (void) mesh::any_to_display_json(any);
  }
  return 0;
}
