#include "actors/processes/input_check.hpp"

#include <cmath>
#include <set>

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json.hpp>

namespace mesh {

namespace {

using google::protobuf::Value;

enum type_bit : uint8_t {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_integer = 32, // integral and within 2^53: an integer once in JSON
  t_string = 64,
  t_any = 127,
};

constexpr double max_exact = 9007199254740992.0; // 2^53

bool type_bit_of(const std::string& name, uint8_t& out) {
  static const std::map<std::string, uint8_t, std::less<>> names{
    {"null", t_null},     {"boolean", t_boolean}, {"object", t_object},
    {"array", t_array},   {"number", t_number | t_integer},
    {"integer", t_integer}, {"string", t_string}};
  auto i = names.find(name);
  if (i == names.end())
    return false;
  out |= i->second;
  return true;
}

// What value_to_json would make of `v`, as a type bit (0: unsure).
uint8_t kind_of(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return t_null;
    case Value::kBoolValue:
      return t_boolean;
    case Value::kStructValue:
      return t_object;
    case Value::kListValue:
      return t_array;
    case Value::kStringValue:
      return t_string;
    case Value::kNumberValue: {
      auto x = v.number_value();
      if (!std::isfinite(x))
        return 0;
      if (std::trunc(x) == x && std::fabs(x) <= max_exact)
        return t_integer;
      return t_number;
    }
    default:
      return 0;
  }
}

bool ascii_length(const std::string& s, size_t& n) {
  for (unsigned char c : s)
    if (c >= 0x80)
      return false;
  n = s.size();
  return true;
}

} // namespace

struct input_check::node {
  uint8_t types = t_any;
  std::vector<std::string> required;
  std::map<std::string, std::unique_ptr<node>, std::less<>> properties;
  bool closed = false;                    ///< additionalProperties: false
  std::unique_ptr<node> additional;       ///< additionalProperties: schema
  std::unique_ptr<node> items;
  std::optional<uint64_t> min_items, max_items, min_length, max_length;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;

  bool accepts(const Value& v) const;
};

namespace {

using node_ptr = std::unique_ptr<input_check::node>;

std::optional<uint64_t> count_of(const nlohmann::json& x, bool& ok) {
  if (!x.is_number_unsigned() && !(x.is_number_integer() && x.get<int64_t>() >= 0)) {
    ok = false;
    return std::nullopt;
  }
  return x.get<uint64_t>();
}

std::optional<double> number_of(const nlohmann::json& x, bool& ok) {
  if (!x.is_number()) {
    ok = false;
    return std::nullopt;
  }
  return x.get<double>();
}

node_ptr compile(const nlohmann::json& schema, int depth) {
  if (depth > 32)
    return nullptr;
  if (schema.is_boolean())
    return schema.get<bool>() ? std::make_unique<input_check::node>()
                              : nullptr; // false: the full check says why
  if (!schema.is_object())
    return nullptr;
  auto out = std::make_unique<input_check::node>();
  bool ok = true;
  for (auto i = schema.begin(); i != schema.end() && ok; ++i) {
    const auto& key = i.key();
    const auto& x = i.value();
    if (key == "$schema" || key == "$id" || key == "$comment"
        || key == "title" || key == "description" || key == "default"
        || key == "examples" || key == "readOnly" || key == "writeOnly") {
      continue;
    } else if (key == "type") {
      out->types = 0;
      if (x.is_string()) {
        ok = type_bit_of(x.get<std::string>(), out->types);
      } else if (x.is_array() && !x.empty()) {
        for (const auto& t : x)
          ok = ok && t.is_string() && type_bit_of(t.get<std::string>(), out->types);
      } else {
        ok = false;
      }
    } else if (key == "required") {
      ok = x.is_array();
      for (const auto& r : x)
        if (ok && r.is_string())
          out->required.push_back(r.get<std::string>());
        else
          ok = false;
    } else if (key == "properties") {
      ok = x.is_object();
      for (auto p = x.begin(); ok && p != x.end(); ++p) {
        auto sub = compile(p.value(), depth + 1);
        ok = sub != nullptr;
        out->properties.emplace(p.key(), std::move(sub));
      }
    } else if (key == "additionalProperties") {
      if (x.is_boolean()) {
        out->closed = !x.get<bool>();
      } else {
        out->additional = compile(x, depth + 1);
        ok = out->additional != nullptr;
      }
    } else if (key == "items") {
      ok = x.is_object() || x.is_boolean();
      if (ok) {
        out->items = compile(x, depth + 1);
        ok = out->items != nullptr;
      }
    } else if (key == "minItems") {
      out->min_items = count_of(x, ok);
    } else if (key == "maxItems") {
      out->max_items = count_of(x, ok);
    } else if (key == "minLength") {
      out->min_length = count_of(x, ok);
    } else if (key == "maxLength") {
      out->max_length = count_of(x, ok);
    } else if (key == "minimum") {
      out->minimum = number_of(x, ok);
    } else if (key == "maximum") {
      out->maximum = number_of(x, ok);
    } else if (key == "exclusiveMinimum") {
      out->exclusive_minimum = number_of(x, ok);
    } else if (key == "exclusiveMaximum") {
      out->exclusive_maximum = number_of(x, ok);
    } else {
      ok = false; // outside the subset: the full check decides
    }
  }
  if (!ok)
    return nullptr;
  return out;
}

} // namespace

bool input_check::node::accepts(const Value& v) const {
  auto kind = kind_of(v);
  if (kind == 0 || (types & kind) == 0)
    return false;
  switch (kind) {
    case t_object: {
      const auto& fields = v.struct_value().fields();
      for (const auto& r : required)
        if (fields.find(r) == fields.end())
          return false;
      if (properties.empty() && !closed && !additional)
        return true; // nothing to check per field
      for (const auto& [name, x] : fields) {
        auto p = properties.find(name);
        if (p != properties.end()) {
          if (!p->second->accepts(x))
            return false;
        } else if (closed) {
          return false;
        } else if (additional && !additional->accepts(x)) {
          return false;
        }
      }
      return true;
    }
    case t_array: {
      const auto& xs = v.list_value().values();
      auto n = static_cast<uint64_t>(xs.size());
      if ((min_items && n < *min_items) || (max_items && n > *max_items))
        return false;
      if (items)
        for (const auto& x : xs)
          if (!items->accepts(x))
            return false;
      return true;
    }
    case t_string: {
      if (!min_length && !max_length)
        return true;
      size_t n = 0;
      if (!ascii_length(v.string_value(), n))
        return false; // code points: the full check counts them
      return (!min_length || n >= *min_length)
             && (!max_length || n <= *max_length);
    }
    case t_integer:
    case t_number: {
      auto x = v.number_value();
      return (!minimum || x >= *minimum) && (!maximum || x <= *maximum)
             && (!exclusive_minimum || x > *exclusive_minimum)
             && (!exclusive_maximum || x < *exclusive_maximum);
    }
    default:
      return true;
  }
}

input_check::input_check(const nlohmann::json& schema)
  : root_(compile(schema, 0)) {
}

input_check::~input_check() = default;
input_check::input_check(input_check&&) noexcept = default;
input_check& input_check::operator=(input_check&&) noexcept = default;

bool input_check::accepts(const Value& value) const {
  return root_ != nullptr && root_->accepts(value);
}

} // namespace mesh
