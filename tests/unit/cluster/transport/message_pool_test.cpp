#define CAF_SUITE transport.message_pool
#include <caf/test/unit_test.hpp>

// The data plane's pool of parsed reply batches: a batch comes back
// cleared when its last owner lets go, and the next frame is parsed into
// the same object, its responses reused; the pool keeps no more than it
// may, and nothing larger than a batch.

#include <memory>
#include <string>
#include <thread>

#include "actors/cluster/data/message_pool.hpp"
#include "protocol/mesh.pb.h"

using namespace mesh;

namespace {

using pool_t = message_pool<pb::ServeReplies>;

// A reply frame of `n` answers with the trace ids t0, t1, ...
std::string frame_of(int n) {
  pb::ServeReplies r;
  for (int i = 0; i < n; ++i) {
    r.add_tags(static_cast<uint64_t>(i));
    auto* resp = r.add_responses();
    resp->set_trace_id("t" + std::to_string(i) + "-0123456789abcdef");
    resp->mutable_payload()->set_value(std::string(100, 'x'));
  }
  return r.SerializeAsString();
}

} // namespace

CAF_TEST(a batch comes back cleared and the next frame reuses its responses) {
  auto pool = std::make_shared<pool_t>(4, 256);
  auto frame = frame_of(3);
  auto first = pool->take();
  CAF_REQUIRE(first->ParseFromString(frame));
  const auto* batch = first.get();
  const auto* response = &first->responses(1);
  // The router takes what it hands on (status and payload move on).
  delete first->mutable_responses(1)->release_payload();
  first.reset();
  CAF_CHECK_EQUAL(pool->idle(), 1u);
  auto second = pool->take();
  CAF_CHECK_EQUAL(pool->idle(), 0u);
  CAF_CHECK_EQUAL(second.get(), batch);
  CAF_CHECK_EQUAL(second->tags_size(), 0);
  CAF_CHECK_EQUAL(second->responses_size(), 0);
  CAF_REQUIRE(second->ParseFromString(frame_of(2)));
  CAF_REQUIRE_EQUAL(second->responses_size(), 2);
  CAF_CHECK_EQUAL(&second->responses(1), response);
  CAF_CHECK_EQUAL(second->responses(1).trace_id(), "t1-0123456789abcdef");
  CAF_CHECK_EQUAL(second->responses(1).payload().value(), std::string(100, 'x'));
}

CAF_TEST(the pool keeps at most its bound and nothing larger than a batch) {
  auto pool = std::make_shared<pool_t>(2, 4);
  {
    auto a = pool->take();
    auto b = pool->take();
    auto c = pool->take();
  }
  CAF_CHECK_EQUAL(pool->idle(), 2u);
  auto big = pool->take();
  auto small = pool->take();
  CAF_REQUIRE(big->ParseFromString(frame_of(5)));
  CAF_REQUIRE(small->ParseFromString(frame_of(4)));
  big.reset();
  CAF_CHECK_EQUAL(pool->idle(), 0u);
  small.reset();
  CAF_CHECK_EQUAL(pool->idle(), 1u);
}

CAF_TEST(a batch outlives the pool and may come back from another thread) {
  auto pool = std::make_shared<pool_t>(4, 256);
  auto batch = pool->take();
  std::weak_ptr<pool_t> watch = pool;
  pool.reset();
  CAF_CHECK(!watch.expired()); // the batch keeps it
  std::thread other{[b = std::move(batch)]() mutable { b.reset(); }};
  other.join();
  CAF_CHECK(watch.expired());
}
