#include "protocol/value_wire.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include <google/protobuf/struct.pb.h>

namespace mesh {

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// Tags: (field number << 3) | wire type. Value's oneof fields 1-6, then
// Struct.fields = 1 (entries: key = 1, value = 2) and ListValue.values = 1.
constexpr char tag_null = 0x08;   // 1, varint
constexpr char tag_number = 0x11; // 2, fixed64
constexpr char tag_string = 0x1a; // 3, length-delimited
constexpr char tag_bool = 0x20;   // 4, varint
constexpr char tag_struct = 0x2a; // 5, length-delimited
constexpr char tag_list = 0x32;   // 6, length-delimited
constexpr char tag_first = 0x0a;  // 1, length-delimited
constexpr char tag_second = 0x12; // 2, length-delimited

size_t varint_size(uint64_t x) {
  size_t n = 1;
  while (x >= 0x80) {
    x >>= 7;
    ++n;
  }
  return n;
}

size_t delimited_size(size_t body) {
  return 1 + varint_size(body) + body;
}

// NullValue is an open enum: a parsed value may hold any int32, written
// sign-extended as protobuf writes enums.
uint64_t null_bits(const Value& v) {
  return static_cast<uint64_t>(static_cast<int64_t>(v.null_value()));
}

// The size of a scalar value (containers: their callers know the body).
size_t scalar_size(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return 1 + varint_size(null_bits(v));
    case Value::kBoolValue:
      return 2;
    case Value::kNumberValue:
      return 9;
    case Value::kStringValue:
      return delimited_size(v.string_value().size());
    default:
      return 0;
  }
}

// Two passes over the same tree in the same order: the first records the
// size of every Struct and ListValue body (pre-order), the second writes,
// taking each length from there. A map walked twice without a change in
// between yields the same order.
class value_writer {
public:
  void reset() {
    sizes_.clear();
    next_ = 0;
  }

  size_t measure(const Value& v) {
    switch (v.kind_case()) {
      case Value::kStructValue:
        return delimited_size(measure(v.struct_value()));
      case Value::kListValue:
        return delimited_size(measure(v.list_value()));
      default:
        return scalar_size(v);
    }
  }

  void write(const Value& v, char*& out) {
    switch (v.kind_case()) {
      case Value::kNullValue:
        *out++ = tag_null;
        put_varint(null_bits(v), out);
        break;
      case Value::kBoolValue:
        *out++ = tag_bool;
        *out++ = v.bool_value() ? '\x01' : '\x00';
        break;
      case Value::kNumberValue: {
        *out++ = tag_number;
        double d = v.number_value();
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        for (int i = 0; i < 8; ++i)
          *out++ = static_cast<char>((bits >> (8 * i)) & 0xff);
        break;
      }
      case Value::kStringValue:
        put_bytes(tag_string, v.string_value(), out);
        break;
      case Value::kStructValue:
        write(v.struct_value(), out);
        break;
      case Value::kListValue:
        write(v.list_value(), out);
        break;
      default:
        break;
    }
  }

private:
  size_t measure(const Struct& s) {
    auto slot = reserve();
    size_t body = 0;
    for (const auto& [key, value] : s.fields())
      body += delimited_size(delimited_size(key.size())
                             + delimited_size(measure(value)));
    return sizes_[slot] = body;
  }

  size_t measure(const ListValue& l) {
    auto slot = reserve();
    size_t body = 0;
    for (const auto& value : l.values())
      body += delimited_size(measure(value));
    return sizes_[slot] = body;
  }

  void write(const Struct& s, char*& out) {
    *out++ = tag_struct;
    put_varint(sizes_[next_++], out);
    for (const auto& [key, value] : s.fields()) {
      // The entry's length needs the value's: measured again, cheaply for
      // scalars; a nested container's body is the next recorded size.
      auto value_size = size_at(value);
      *out++ = tag_first;
      put_varint(delimited_size(key.size()) + delimited_size(value_size), out);
      put_bytes(tag_first, key, out);
      *out++ = tag_second;
      put_varint(value_size, out);
      write(value, out);
    }
  }

  void write(const ListValue& l, char*& out) {
    *out++ = tag_list;
    put_varint(sizes_[next_++], out);
    for (const auto& value : l.values()) {
      *out++ = tag_first;
      put_varint(size_at(value), out);
      write(value, out);
    }
  }

  // The size of `v` in the write pass: a container's body comes from the
  // first pass (its slot is the next one to be read).
  size_t size_at(const Value& v) const {
    switch (v.kind_case()) {
      case Value::kStructValue:
      case Value::kListValue:
        return delimited_size(sizes_[next_]);
      default:
        return scalar_size(v);
    }
  }

  size_t reserve() {
    sizes_.push_back(0);
    return sizes_.size() - 1;
  }

  static void put_varint(uint64_t x, char*& out) {
    while (x >= 0x80) {
      *out++ = static_cast<char>((x & 0x7f) | 0x80);
      x >>= 7;
    }
    *out++ = static_cast<char>(x);
  }

  static void put_bytes(char tag, const std::string& bytes, char*& out) {
    *out++ = tag;
    put_varint(bytes.size(), out);
    std::memcpy(out, bytes.data(), bytes.size());
    out += bytes.size();
  }

  std::vector<size_t> sizes_;
  size_t next_ = 0;
};

} // namespace

void serialize_value(const Value& value, std::string& out) {
  // One table per thread, kept: no allocation once it has grown.
  thread_local value_writer w;
  w.reset();
  auto total = w.measure(value);
  out.resize(total); // every byte is written below: measured exactly
  char* p = out.data();
  w.write(value, p);
}

} // namespace mesh
