#pragma once

// A message holding one default-constructed T, built in place and filled
// through get_mutable_as<T>(0) (the message is not shared yet, so CAF does
// not copy it). make_message(T{}) constructs a temporary and then a second
// T moved from it: for a protobuf message with a map field (DispatchRequest's
// context), each construction is a visible share of a process dispatch.

#include <caf/detail/tuple_vals.hpp>
#include <caf/make_counted.hpp>
#include <caf/message.hpp>

namespace mesh {

template <class T>
caf::message make_message_in_place() {
  auto data = caf::make_counted<caf::detail::tuple_vals<T>>();
  return caf::message{caf::detail::message_data::cow_ptr{std::move(data)}};
}

} // namespace mesh
