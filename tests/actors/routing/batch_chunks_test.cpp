#define CAF_SUITE actors.batch_chunks
#include "check.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "actors/cluster/data/data_messages.hpp"
#include "actors/cluster/ingress/cpu_share.hpp"
#include "actors/cluster/ingress/peer_ingress.hpp"
#include "cluster/transport/data_link.hpp"
#include "ingress_fixture.hpp"
#include "pinned_here.hpp"

// A peer's batch served in chunks (cluster.serve_chunk): a batch of more
// requests goes to the router a chunk at a time, and each chunk's answers
// leave before the next chunk is served, so the peer works on them
// meanwhile. Every tag is still answered exactly once.

using namespace mesh;
using namespace mesh::test;

namespace {

struct fixture : ingress_fixture {
  /// Replaces the ingress with one that serves in chunks of `size`,
  /// always or (`adaptive`) while the peer sends from another CPU.
  void chunked(int size, bool adaptive = false) {
    self->send_exit(in, caf::exit_reason::user_shutdown);
    run();
    auto cfg = config();
    cfg.serve_chunk = size;
    cfg.serve_chunk_adaptive = adaptive;
    in = spawn_peer_ingress(sys, std::move(cfg));
    run();
  }

  /// An inbound data link over a socket pair whose other end nobody reads
  /// (closed with the fixture); `same_host`: as the data plane would have
  /// found at accept.
  data_link_ptr peer_link(bool same_host, size_t max_pending = 1 << 20) {
    int fds[2];
    CAF_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer_ends.push_back(fds[1]);
    return std::make_shared<data_link>(1, fds[0], data_link::role::inbound,
                                       "mars", "", 1 << 20, max_pending,
                                       same_host);
  }

  ~fixture() {
    for (auto fd : peer_ends)
      ::close(fd);
  }

  std::vector<int> peer_ends;

  /// `n` batches of one request on `link`, each saying it was sent from
  /// the CPU tagged `cpu` (ServeBatch.sender_cpu), served and forgotten.
  void batches_of_one(int n, const data_link_ptr& link, uint32_t cpu) {
    for (int i = 0; i < n; ++i) {
      auto b = batch(1, 1000 + static_cast<uint64_t>(i));
      b.set_sender_cpu(cpu);
      self->send(in, data_batch{link, std::move(b)});
    }
    run();
    seen->events.clear();
  }

  /// Each answer by tag; a tag answered twice fails the test.
  std::map<uint64_t, pb::ServeResponse> by_tag() const {
    std::map<uint64_t, pb::ServeResponse> out;
    for (const auto& r : seen->replies)
      for (int i = 0; i < r.tags_size(); ++i)
        CAF_CHECK(out.emplace(r.tags(i), r.responses(i)).second);
    return out;
  }
};

using events = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(batch_chunks_tests, fixture)

CAF_TEST(answers of each chunk leave before the next chunk is served) {
  chunked(4);
  self->send(in, atom::batch_v, batch(10, 100));
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "reply 4", "serve 4",
                                        "reply 4", "serve 2", "reply 2"}));
  auto answers = by_tag();
  CAF_REQUIRE_EQUAL(answers.size(), 10u);
  for (const auto& [tag, r] : answers) {
    // Each answer under its own request's tag, in order within a chunk.
    CAF_CHECK_EQUAL(r.trace_id(), "t" + std::to_string(tag));
    CAF_CHECK_EQUAL(r.status().code(), pb::OK);
  }
  CAF_CHECK_EQUAL(answers.begin()->first, 100u);
  CAF_CHECK_EQUAL(answers.rbegin()->first, 109u);
}

CAF_TEST(a batch no larger than a chunk is served whole) {
  chunked(4);
  self->send(in, atom::batch_v, batch(4, 1));
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "reply 4"}));
}

CAF_TEST(without a chunk size a large batch is served whole) {
  self->send(in, atom::batch_v, batch(40, 1));
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 40", "reply 40"}));
}

CAF_TEST(batches that arrive while chunks wait are served after them) {
  chunked(4);
  self->send(in, atom::batch_v, batch(6, 0));
  self->send(in, atom::batch_v, batch(3, 100));
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "reply 4", "serve 2",
                                        "reply 2", "serve 3", "reply 3"}));
  CAF_CHECK_EQUAL(by_tag().size(), 9u);
}

CAF_TEST(a chunk leaves before the next is served with more mail waiting) {
  chunked(4);
  self->send(in, atom::batch_v, batch(6, 0));
  sched.run_once(); // the ingress: the first chunk to the router
  sched.run_once(); // the router: its answer waits in the ingress's mailbox
  // ... behind which more comes: the answers must not wait for it.
  self->send(in, atom::batch_v, batch(1, 100));
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "reply 4", "serve 2",
                                        "reply 2", "serve 1", "reply 1"}));
}

CAF_TEST(chunks whose data link closed meanwhile are dropped) {
  chunked(4);
  // Nothing may wait on this link (max_pending 0): the first answers sent
  // on it cut it, as a peer that stopped reading would.
  auto link = peer_link(false, 0);
  self->send(in, data_batch{link, batch(10, 0)});
  run();
  CAF_CHECK(!link->alive());
  // The first chunk's answers went by BASP instead; the peer fails the
  // other six when it sees the link close, so they are not run.
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "reply 4"}));
  CAF_CHECK_EQUAL(seen->requests.size(), 4u);
}

CAF_TEST(requests handed back in a chunk go alone and are answered once) {
  chunked(2);
  pb::ServeBatch b;
  for (auto id : {"exec1", "t2", "exec3", "t4", "t5"}) {
    b.add_requests()->set_trace_id(id);
    b.add_tags(static_cast<uint64_t>(b.tags_size() + 1));
  }
  self->send(in, atom::batch_v, std::move(b));
  run();
  CAF_CHECK_EQUAL(seen->requests.size(), 5u);
  std::map<uint64_t, std::string> ids;
  for (const auto& [tag, r] : by_tag())
    ids.emplace(tag, r.trace_id());
  CAF_CHECK_EQUAL(ids, (std::map<uint64_t, std::string>{{1, "exec1"},
                                                        {2, "t2"},
                                                        {3, "exec3"},
                                                        {4, "t4"},
                                                        {5, "t5"}}));
}

CAF_TEST(a router that is gone answers every tag of every chunk once) {
  chunked(4);
  self->send_exit(router, caf::exit_reason::kill);
  run();
  self->send(in, atom::batch_v, batch(10, 20));
  run();
  auto answers = by_tag();
  CAF_REQUIRE_EQUAL(answers.size(), 10u);
  for (const auto& [tag, r] : answers)
    CAF_CHECK_NOT_EQUAL(r.status().code(), pb::OK);
  CAF_CHECK_EQUAL(answers.begin()->first, 20u);
  CAF_CHECK_EQUAL(answers.rbegin()->first, 29u);
}

// Adaptive chunks (cpu_share.hpp): a peer on this host that sends from the
// CPU serving its batches takes turns with this node on that CPU, and a
// chunk would only cost it a frame. The test's thread is pinned, so the
// CPU the ingress runs on (here, in the test coordinator) stays put.
CAF_TEST(adaptive chunks follow the CPU the peer sends from) {
  pinned_here pin;
  chunked(4, true);
  auto link = peer_link(true);
  auto here = sender_cpu_tag();
  CAF_REQUIRE_NOT_EQUAL(here, 0u);
  auto elsewhere = here + 1; // another CPU's number, whether it exists or not
  auto large = [&](uint32_t cpu) {
    auto b = batch(10, 1);
    b.set_sender_cpu(cpu);
    self->send(in, data_batch{link, std::move(b)});
    run();
    auto out = seen->events;
    seen->events.clear();
    return out;
  };
  // Before a whole window of batches, the ingress assumes the worst: whole.
  CAF_CHECK_EQUAL(large(elsewhere), (events{"serve 10"}));
  batches_of_one(static_cast<int>(cpu_share_gauge::window) - 1, link,
                 elsewhere);
  // The window is full: its batches came from elsewhere, so the next cut.
  CAF_CHECK_EQUAL(large(elsewhere),
                  (events{"serve 4", "serve 4", "serve 2"}));
  batches_of_one(static_cast<int>(cpu_share_gauge::window) - 1, link, here);
  // A window from this very CPU: whole again.
  CAF_CHECK_EQUAL(large(here), (events{"serve 10"}));
}

CAF_TEST(adaptive chunks ignore the CPU a peer on another host names) {
  pinned_here pin;
  chunked(4, true);
  // Not from this host: its CPU numbers name another machine's CPUs.
  auto link = peer_link(false);
  batches_of_one(static_cast<int>(cpu_share_gauge::window), link,
                 sender_cpu_tag());
  auto b = batch(6, 1);
  b.set_sender_cpu(sender_cpu_tag());
  self->send(in, data_batch{link, std::move(b)});
  run();
  CAF_CHECK_EQUAL(seen->events, (events{"serve 4", "serve 2"}));
}

CAF_TEST(adaptive chunks over BASP cut once a window has passed) {
  chunked(4, true);
  for (int i = 0; i < static_cast<int>(cpu_share_gauge::window); ++i)
    self->send(in, atom::batch_v, batch(1, 1000 + static_cast<uint64_t>(i)));
  run();
  seen->events.clear();
  // No link: no way to know where the peer runs, so chunks as configured.
  self->send(in, atom::batch_v, batch(6, 1));
  run();
  CAF_CHECK_EQUAL(seen->events,
                  (events{"serve 4", "reply 4", "serve 2", "reply 2"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
