#define CAF_SUITE actors.batch_router
#include "router_fixture.hpp"

#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/wrappers.pb.h>

#include "actors/cluster/data/data_messages.hpp"
#include "cluster/transport/data_plane.hpp"
#include "unit/cluster/transport/plane_inbox.hpp"

// The requesting side of a batch (issue 16): attempts at one peer that are
// ready together leave in one ServeBatch, a lone one at once; answers come
// back by tag, and a tag that names no attempt out at that peer (unknown,
// finished, another peer's) is ignored, so every request is answered once.
// A peer ingress that goes away fails the attempts it held, as a lost
// request did before batching.

using namespace mesh;
using namespace std::chrono_literals;
using test::fake_answer;
using test::strings;

namespace {

struct fixture : test::router_fixture {
  /// Sends `n` requests without running the scheduler in between, then
  /// runs it: they reach the router together.
  void send_together(int n, const service_key& key) {
    for (int i = 0; i < n; ++i)
      self->send(client, test::request(key, "t" + std::to_string(i)));
    run();
  }

  void answer(const std::string& from_peer, uint64_t tag,
              const std::string& trace_id) {
    pb::ServeReplies r;
    auto* resp = r.add_responses();
    resp->set_executor_id(from_peer);
    resp->set_trace_id(trace_id);
    r.add_tags(tag);
    self->send(router, atom::batch_v, from_peer, std::move(r));
    run();
  }
};

/// A request to `key` whose payload is the string `text`.
pb::DispatchRequest carrying(const service_key& key, const std::string& trace,
                             const std::string& text) {
  auto req = test::request(key, trace);
  google::protobuf::StringValue value;
  value.set_value(text);
  req.mutable_payload()->PackFrom(value);
  return req;
}

/// node-a's data plane (`a`, for the router) dialled to node-b's, which
/// keeps every batch it gets, unanswered: a peer that has not answered
/// yet (or is leaving).
struct linked_planes {
  test::inbox ready, closed, received;
  std::shared_ptr<data_plane> a
    = std::make_shared<data_plane>(data_plane_config{});
  data_plane b{data_plane_config{}};

  /// Starts both planes; true once the link is up.
  bool start() {
    data_plane_handlers ha;
    ha.on_ready = [this](const std::string& peer) { ready.push(peer, ""); };
    ha.on_closed = [this](const std::string& peer, uint64_t link) {
      closed.push(peer, std::to_string(link));
    };
    if (!a->start(ha).empty() || !b.start({}).empty())
      return false;
    auto token = b.issue_token(7, [this](const data_link_ptr&,
                                         std::string_view body) {
      received.push("batch", std::string{body});
      return true;
    });
    a->dial("node-b", "inc-1", "127.0.0.1", b.port(), token);
    std::pair<std::string, std::string> ev;
    return ready.pop(ev);
  }

  ~linked_planes() {
    a->stop();
    b.stop();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(batch_router_tests, fixture)

CAF_TEST(requests ready together leave for a peer in one batch) {
  start({}, {"node-b"});
  send_together(8, test::get_key);
  CAF_CHECK_EQUAL(peer("node-b").batches, 1u);
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 8u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 8u);
  for (int i = 0; i < 8; ++i)
    CAF_CHECK_EQUAL(test::code_name(reply("t" + std::to_string(i))), "ok");
  CAF_CHECK_EQUAL(stat("batches"), 1);
  CAF_CHECK_EQUAL(stat("batched"), 8);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(a lone request is not held back) {
  start({}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(peer("node-b").batches, 1u);
}

CAF_TEST(answers for unknown tags or from another peer are ignored) {
  start({}, {"node-b", "node-c"});
  all_peers(fake_answer::frozen());
  send(test::request(test::get_key, "t1")); // round robin: node-b
  auto& b = peer("node-b");
  CAF_REQUIRE_EQUAL(b.held_batched.size(), 1u);
  auto tag = b.held_batched.front().tag;
  answer("node-b", tag + (uint64_t{1} << 40), "t1"); // no such call
  answer("node-b", tag + 7, "t1");                    // no such attempt
  answer("node-c", tag, "t1"); // the right tag from the wrong peer
  CAF_CHECK_EQUAL(replies->dispatch.size(), 0u);
  CAF_CHECK_EQUAL(stat("pending"), 1);
  release("t1", fake_answer::ok());
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(reply("t1").handled_by(), "node-b");
  answer("node-b", tag, "t1"); // late: the call is finished
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(a peer ingress that goes away fails the attempts it held) {
  start({test::make_policy("retrying", "ns/*/*")}, {"node-b", "node-c"});
  peer("node-b").otherwise = fake_answer::frozen();
  send(test::request(test::get_key, "get1")); // node-b: held
  send(test::request(test::get_key, "get2")); // node-c: answered
  send(test::request(test::put_key, "put")); // node-b: held
  CAF_CHECK_EQUAL(peer("node-b").held_batched.size(), 2u);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
  peer("node-b").held_batched.clear();
  self->send_exit(fakes.at("node-b"), caf::exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 3u);
  // Idempotent: retried elsewhere; not idempotent: unavailable.
  CAF_CHECK_EQUAL(test::code_name(reply("get1")), "ok");
  CAF_CHECK_EQUAL(reply("get1").handled_by(), "node-c");
  CAF_CHECK_EQUAL(test::code_name(reply("put")), "unavailable");
  CAF_CHECK_EQUAL(stat("pending"), 0);
  // Nothing answers twice when time runs on.
  advance(10s);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 3u);
}

CAF_TEST(attempts on an open data link outlive news of the peer ingress) {
  linked_planes link;
  CAF_REQUIRE(link.start());
  start({}, {"node-b"}, link.a);
  send(test::request(test::put_key, "put"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(link.received.pop(ev)); // on the link, not to the fake ingress
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 0u);
  // News of the ingress (by BASP) before the answers on the link: the
  // attempt stays out, for the link to answer or fail.
  self->send_exit(fakes.at("node-b"), caf::exit_reason::kill);
  run();
  CAF_CHECK_EQUAL(replies->dispatch.size(), 0u);
  // The link closes (the peer closes its ingress's links): now it fails,
  // once.
  link.b.close_owner(7);
  CAF_REQUIRE(link.closed.pop(ev));
  CAF_CHECK_EQUAL(ev.first, "node-b");
  self->send(router, data_link_down{ev.first, std::stoull(ev.second)});
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(test::code_name(reply("put")), "unavailable");
  advance(10s);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(answers read before the link closed outlive news of the ingress) {
  // The leaving peer answered on the link and exited: the plane has read
  // the answer and the link's end, but the router hears of the ingress
  // (by BASP) first. The answer, then the link's close, follow it.
  linked_planes link;
  CAF_REQUIRE(link.start());
  start({}, {"node-b"}, link.a);
  send(test::request(test::put_key, "put"));
  std::pair<std::string, std::string> ev;
  CAF_REQUIRE(link.received.pop(ev));
  pb::ServeBatch batch;
  CAF_REQUIRE(batch.ParseFromString(ev.second));
  link.b.close_owner(7);
  CAF_REQUIRE(link.closed.pop(ev)); // closed at node-a, not yet told
  self->send_exit(fakes.at("node-b"), caf::exit_reason::kill);
  run();
  CAF_CHECK_EQUAL(replies->dispatch.size(), 0u);
  data_replies answers;
  answers.peer = "node-b";
  answers.replies = std::make_shared<pb::ServeReplies>();
  answers.replies->add_tags(batch.tags(0));
  answers.replies->add_responses()->set_trace_id("put");
  self->send(router, std::move(answers));
  self->send(router, data_link_down{ev.first, std::stoull(ev.second)});
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK_EQUAL(test::code_name(reply("put")), "ok");
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST(a batch refilled on a data link carries only its own requests) {
  // A batch written on a link is cleared and refilled by the next, its
  // requests' refs and payloads reused: nothing of one wave may show in
  // the next (another method, another payload, none, one too large to
  // keep).
  linked_planes link;
  CAF_REQUIRE(link.start());
  start({}, {"node-b"}, link.a);
  std::string big(4000, 'x');
  std::vector<std::vector<pb::DispatchRequest>> waves{
    {carrying(test::get_key, "g1", "first get"),
     carrying(test::get_key, "g2", big), carrying(test::get_key, "g3", "x")},
    {carrying(test::put_key, "p1", "a put")},
    {test::request(test::get_key, "e1"), carrying(test::put_key, "p2", big),
     carrying(test::get_key, "g4", "the last")}};
  for (const auto& wave : waves) {
    for (const auto& req : wave)
      self->send(client, req);
    run();
    std::pair<std::string, std::string> ev;
    CAF_REQUIRE(link.received.pop(ev));
    pb::ServeBatch got;
    CAF_REQUIRE(got.ParseFromString(ev.second));
    CAF_REQUIRE_EQUAL(got.requests_size(), static_cast<int>(wave.size()));
    for (int i = 0; i < got.requests_size(); ++i) {
      const auto& sent = wave[static_cast<size_t>(i)];
      const auto& seen = got.requests(i);
      CAF_CHECK_EQUAL(seen.trace_id(), sent.trace_id());
      CAF_CHECK_EQUAL(seen.ref().method(), sent.ref().method());
      auto seen_payload = seen.payload().SerializeAsString();
      auto sent_payload = sent.payload().SerializeAsString();
      CAF_CHECK_EQUAL(seen_payload, sent_payload);
    }
  }
  CAF_CHECK_EQUAL(stat("pending"), 7);
}

CAF_TEST_FIXTURE_SCOPE_END()
