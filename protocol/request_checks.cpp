#include "protocol/request_checks.hpp"

#include <random>

#include "protocol/service_key.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

request_problem check_request(const pb::ServiceRef& ref,
                              const google::protobuf::Any& payload,
                              size_t max_payload_bytes) {
  if (auto err = check_name("namespace", ref.namespace_()); !err.empty())
    return {status_code::invalid_argument, err};
  if (auto err = check_name("service", ref.service()); !err.empty())
    return {status_code::invalid_argument, err};
  if (auto err = check_name("method", ref.method()); !err.empty())
    return {status_code::invalid_argument, err};
  auto size = payload.value().size() + payload.type_url().size();
  if (size > max_payload_bytes)
    return {status_code::invalid_argument,
            "payload of " + std::to_string(size)
              + " bytes exceeds the limit of "
              + std::to_string(max_payload_bytes) + " bytes"};
  return {};
}

std::string make_trace_id() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string result(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto x = engine();
    for (int i = 0; i < 16; ++i)
      result[half * 16 + i] = digits[(x >> (i * 4)) & 0xF];
  }
  return result;
}

std::string check_trace_id(std::string_view id, std::string_view field) {
  if (id.size() > max_trace_id_size)
    return std::string{field} + " has " + std::to_string(id.size())
           + " characters, more than the limit of "
           + std::to_string(max_trace_id_size);
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
              || c == '-';
    if (!ok)
      return std::string{field}
             + " may hold only letters, digits and . _ : - (found "
             + (c >= 0x21 && c <= 0x7e
                    ? "'" + std::string(1, c) + "'"
                    : "byte " + std::to_string(static_cast<unsigned char>(c)))
             + ")";
  }
  return {};
}

} // namespace mesh
