#pragma once

// input_check: a manifest's input_schema compiled once into a check that
// reads the request's protobuf Value directly, so a valid input costs no
// JSON conversion and no valijson run per process dispatch.
//
// It is a fast path, never a second judge: it knows a small part of
// draft-07 (type, required, properties, additionalProperties, items,
// minItems/maxItems, minimum/maximum and their exclusive forms, ASCII
// minLength/maxLength, and annotations), and says "accepted" only when the
// full check would accept too. Anything else (another keyword, an input it
// is unsure about, any violation) goes to the full check (json_schema on
// value_to_json), whose messages the caller sees, unchanged.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace google::protobuf {
class Value;
} // namespace google::protobuf

namespace mesh {

class input_check {
public:
  /// Compiles `schema` (a draft-07 document, already accepted by
  /// json_schema); a schema with keywords outside the subset compiles to a
  /// check that accepts nothing (every input takes the full check).
  explicit input_check(const nlohmann::json& schema);
  ~input_check();
  input_check(input_check&&) noexcept;
  input_check& operator=(input_check&&) noexcept;

  /// True only when `value` surely satisfies the schema.
  bool accepts(const google::protobuf::Value& value) const;

  /// False when the schema uses keywords outside the subset.
  bool compiled() const {
    return root_ != nullptr;
  }

  struct node; ///< one compiled (sub)schema

private:
  std::unique_ptr<node> root_;
};

} // namespace mesh
