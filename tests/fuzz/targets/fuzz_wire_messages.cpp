// Fuzz target: every protobuf message that arrives from the network, as
// bytes (the first byte picks the message), then the checks the receiving
// node runs on it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "cluster/failure_detector.hpp"
#include "cluster/monitor_ring.hpp"
#include "cluster/security/handshake.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/messaging/type_ids.hpp"
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
  // Kinds 0-8 as before (the corpus keeps its meaning); 9-14: the batches.
  auto kind = data[0] % 15;
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
      if (auto m = parse<pb::Heartbeat>(data, size)) {
        // The reachability report, as the connection manager keeps it.
        auto& r = m->reachability();
        (void) keep_known(r.suspect(), r.down(), [&](const std::string& id) {
          return id != m->node_id() && !id.empty();
        });
        // The sender's interval, as its failure detector takes it.
        failure_detector fd{std::chrono::milliseconds{100}, 5};
        fd.pace(std::chrono::milliseconds{m->heartbeat_interval_ms()});
        if (fd.interval() > failure_detector::max_pace)
          std::abort();
      }
      break;
    case 6:
      if (auto m = parse<pb::TopicRoutes>(data, size))
        for (const auto& r : m->routes())
          (void) check_topic_pattern(r.pattern());
      break;
    case 7:
      (void) parse<pb::ServiceAnnouncement>(data, size);
      break;
    case 8:
      (void) parse<pb::BanditEvidence>(data, size);
      break;
    case 9:
      if (auto m = parse<pb::ServeBatch>(data, size);
          m && m->requests_size() == m->tags_size())
        for (const auto& r : m->requests())
          (void) check_request(r.ref(), r.payload(), 4 << 20);
      break;
    case 10:
      (void) parse<pb::ServeReplies>(data, size);
      break;
    case 11:
      if (auto m = parse<pb::PublishBatch>(data, size))
        for (const auto& r : m->requests())
          (void) check_topic(r.topic());
      break;
    case 12:
      (void) parse<pb::PublishReplies>(data, size);
      break;
    case 13:
      if (auto m = parse<pb::DispatchBatch>(data, size);
          m && m->requests_size() == m->tags_size())
        for (const auto& r : m->requests())
          (void) check_request(r.ref(), r.payload(), 4 << 20);
      break;
    default:
      (void) parse<pb::DispatchReplies>(data, size);
      break;
  }
  return 0;
}
