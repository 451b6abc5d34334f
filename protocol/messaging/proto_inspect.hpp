#pragma once

// Lets CAF carry protobuf messages: a message crosses a node boundary as its
// protobuf wire bytes, and prints as its one-line text form in logs. Include
// this (through protocol/messaging/type_ids.hpp) wherever protobuf values go into CAF
// messages.

#include <string>
#include <type_traits>

#include <caf/detail/stringification_inspector.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <caf/config.hpp>
CAF_PUSH_WARNINGS
#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>
CAF_POP_WARNINGS

namespace mesh::detail {

template <class T>
inline constexpr bool is_proto_message_v
  = std::is_base_of_v<google::protobuf::Message, T>;

template <class Inspector, class T>
typename Inspector::result_type inspect_proto(Inspector& f, T& x) {
  using inspector = std::decay_t<Inspector>;
  if constexpr (std::is_same_v<inspector, caf::detail::stringification_inspector>) {
    auto text = x.ShortDebugString();
    return f(caf::meta::type_name(T::descriptor()->full_name().c_str()), text);
  } else if constexpr (Inspector::reads_state) {
    std::string bytes;
    x.SerializeToString(&bytes);
    return f(bytes);
  } else {
    std::string bytes;
    auto parse = caf::meta::load_callback([&]() -> caf::error {
      if (!x.ParseFromString(bytes))
        return caf::make_error(caf::sec::invalid_argument,
                               "malformed protobuf bytes for "
                                 + T::descriptor()->full_name());
      return caf::none;
    });
    return f(bytes, parse);
  }
}

template <class T>
bool proto_equal(const T& x, const T& y) {
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

} // namespace mesh::detail

// ADL finds these next to the generated classes.
namespace mesh::pb {

template <class Inspector, class T>
std::enable_if_t<mesh::detail::is_proto_message_v<T>,
                 typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  return mesh::detail::inspect_proto(f, x);
}

template <class T>
std::enable_if_t<mesh::detail::is_proto_message_v<T>, bool>
operator==(const T& x, const T& y) {
  return mesh::detail::proto_equal(x, y);
}

} // namespace mesh::pb

namespace google::protobuf {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Any& x) {
  return mesh::detail::inspect_proto(f, x);
}

inline bool operator==(const Any& x, const Any& y) {
  return mesh::detail::proto_equal(x, y);
}

} // namespace google::protobuf
