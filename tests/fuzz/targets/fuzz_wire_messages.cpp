// Fuzz target: every protobuf message that arrives from the network, as
// bytes (the first byte picks the message), then the checks the receiving
// node runs on it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "cluster/handshake.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/type_ids.hpp"
#include "topics/topic.hpp"

namespace {

template <class T>
std::unique_ptr<T> parse(const uint8_t* data, size_t size) {
  auto msg = std::make_unique<T>();
  if (!msg->ParseFromArray(data, static_cast<int>(size)))
    return nullptr;
  (void) msg->ShortDebugString();
  return msg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto kind = data[0] % 9;
  ++data;
  --size;
  using namespace mesh;
  switch (kind) {
    case 0:
      if (auto m = parse<pb::ConnectRequest>(data, size)) {
        (void) check_protocol_version(m->protocol_version());
        (void) check_secret_proof("secret", m->secret_proof(), "hello",
                                  m->node_id(), m->incarnation(), m->nonce());
      }
      break;
    case 1:
      if (auto m = parse<pb::ServeRequest>(data, size))
        (void) check_request(m->ref(), m->payload(), 4 << 20);
      break;
    case 2:
      if (auto m = parse<pb::DispatchRequest>(data, size))
        (void) check_request(m->ref(), m->payload(), 4 << 20);
      break;
    case 3:
      if (auto m = parse<pb::PublishRequest>(data, size)) {
        (void) check_topic(m->topic());
        (void) parse_message_category(m->category());
      }
      break;
    case 4:
      (void) parse<pb::ProcessRequest>(data, size);
      break;
    case 5:
      (void) parse<pb::Heartbeat>(data, size);
      break;
    case 6:
      if (auto m = parse<pb::TopicRoutes>(data, size))
        for (const auto& r : m->routes())
          (void) check_topic_pattern(r.pattern());
      break;
    case 7:
      (void) parse<pb::ServiceAnnouncement>(data, size);
      break;
    default:
      (void) parse<pb::BanditEvidence>(data, size);
      break;
  }
  return 0;
}
