#include "protocol/json/json_payload.hpp"

#include <atomic>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include <caf/config.hpp>
CAF_PUSH_WARNINGS
#include <google/protobuf/any.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/wrappers.pb.h>
CAF_POP_WARNINGS

#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"

namespace mesh {

namespace {

std::atomic<size_t> max_depth{default_max_json_depth};

// Each JSON level is up to three protobuf levels (Value, Struct, map
// entry); protobuf's own default of 100 would cut JSON at about 33 levels.
bool unpack_deep(const google::protobuf::Any& in,
                 google::protobuf::Message& out) {
  if (in.type_url().substr(in.type_url().rfind('/') + 1)
      != out.GetDescriptor()->full_name())
    return false;
  google::protobuf::io::ArrayInputStream bytes{
    in.value().data(), static_cast<int>(in.value().size())};
  google::protobuf::io::CodedInputStream stream{&bytes};
  stream.SetRecursionLimit(static_cast<int>(3 * max_json_depth() + 8));
  return out.ParseFromCodedStream(&stream)
         && stream.ConsumedEntireMessage();
}

} // namespace

size_t max_json_depth() {
  return max_depth.load(std::memory_order_relaxed);
}

void set_max_json_depth(size_t depth) {
  max_depth.store(depth, std::memory_order_relaxed);
}

void json_to_value(const nlohmann::json& in, google::protobuf::Value& out) {
  using nlohmann::json;
  switch (in.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      out.set_null_value(google::protobuf::NULL_VALUE);
      break;
    case json::value_t::boolean:
      out.set_bool_value(in.get<bool>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      out.set_number_value(in.get<double>());
      break;
    case json::value_t::string:
      out.set_string_value(in.get_ref<const std::string&>());
      break;
    case json::value_t::binary:
      out.set_string_value(std::string(in.get_binary().begin(),
                                       in.get_binary().end()));
      break;
    case json::value_t::array: {
      auto* list = out.mutable_list_value();
      for (const auto& x : in)
        json_to_value(x, *list->add_values());
      break;
    }
    case json::value_t::object: {
      auto* fields = out.mutable_struct_value()->mutable_fields();
      for (auto i = in.begin(); i != in.end(); ++i)
        json_to_value(i.value(), (*fields)[i.key()]);
      break;
    }
  }
}

nlohmann::json value_to_json(const google::protobuf::Value& in) {
  using google::protobuf::Value;
  switch (in.kind_case()) {
    case Value::kBoolValue:
      return in.bool_value();
    case Value::kNumberValue: {
      auto x = in.number_value();
      constexpr double max_exact = 9007199254740992.0; // 2^53
      if (std::isfinite(x) && std::trunc(x) == x && std::fabs(x) <= max_exact)
        return static_cast<int64_t>(x);
      return x;
    }
    case Value::kStringValue:
      return in.string_value();
    case Value::kListValue: {
      auto result = nlohmann::json::array();
      for (const auto& x : in.list_value().values())
        result.push_back(value_to_json(x));
      return result;
    }
    case Value::kStructValue: {
      auto result = nlohmann::json::object();
      for (const auto& [key, x] : in.struct_value().fields())
        result[key] = value_to_json(x);
      return result;
    }
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

google::protobuf::Any json_to_any(const nlohmann::json& in) {
  google::protobuf::Value value;
  json_to_value(in, value);
  google::protobuf::Any result;
  result.PackFrom(value);
  return result;
}

bool is_json_any(const google::protobuf::Any& in) {
  return in.type_url().empty() || in.Is<google::protobuf::Value>()
         || in.Is<google::protobuf::Struct>()
         || in.Is<google::protobuf::ListValue>()
         || in.Is<google::protobuf::StringValue>();
}

caf::expected<nlohmann::json> any_to_json(const google::protobuf::Any& in) {
  auto malformed = [&] {
    return make_error(status_code::invalid_argument,
                      "payload of type '" + in.type_url()
                        + "' has malformed bytes or nests deeper than "
                        + std::to_string(max_json_depth())
                        + " levels (limits.max_json_depth)");
  };
  auto checked = [&](nlohmann::json doc) -> caf::expected<nlohmann::json> {
    if (json_depth(doc) > max_json_depth())
      return make_error(status_code::invalid_argument,
                        "payload nests deeper than "
                          + std::to_string(max_json_depth())
                          + " levels (limits.max_json_depth)");
    return doc;
  };
  if (in.type_url().empty() && in.value().empty())
    return nlohmann::json(nullptr);
  if (in.Is<google::protobuf::Value>()) {
    google::protobuf::Value x;
    if (!unpack_deep(in, x))
      return malformed();
    return checked(value_to_json(x));
  }
  if (in.Is<google::protobuf::Struct>()) {
    google::protobuf::Value x;
    if (!unpack_deep(in, *x.mutable_struct_value()))
      return malformed();
    return checked(value_to_json(x));
  }
  if (in.Is<google::protobuf::ListValue>()) {
    google::protobuf::Value x;
    if (!unpack_deep(in, *x.mutable_list_value()))
      return malformed();
    return checked(value_to_json(x));
  }
  if (in.Is<google::protobuf::StringValue>()) {
    google::protobuf::StringValue x;
    if (!in.UnpackTo(&x))
      return malformed();
    return nlohmann::json(x.value());
  }
  return make_error(status_code::invalid_argument,
                    "payload of type '" + in.type_url() + "' is not JSON");
}

nlohmann::json any_to_display_json(const google::protobuf::Any& in) {
  if (is_json_any(in))
    if (auto x = any_to_json(in))
      return std::move(*x);
  static constexpr char table[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto& bytes = in.value();
  std::string encoded;
  encoded.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size())
      n |= static_cast<uint8_t>(bytes[i + 2]);
    encoded += table[(n >> 18) & 63];
    encoded += table[(n >> 12) & 63];
    encoded += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    encoded += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return {{"@type", in.type_url()}, {"base64", std::move(encoded)}};
}

} // namespace mesh
