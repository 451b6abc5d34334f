#define CAF_SUITE actors.client_batch
#include "fixtures.hpp"

#include <map>

#include <caf/send.hpp>

#include "actors/console/client_ingress.hpp"
#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/json/json_payload.hpp"

// The client ingress's batch contract (client_ingress.hpp): every request of
// a DispatchBatch answered once, by tag, in DispatchReplies sent to the
// batch's sender; refusals and malformed batches answered per tag too.

using namespace mesh;
using nlohmann::json;

namespace {

using replies_log = std::vector<pb::DispatchReplies>;

/// A client: records every DispatchReplies message it is sent.
caf::behavior recorder(caf::event_based_actor*,
                       std::shared_ptr<replies_log> log) {
  return {
    [log](atom::batch, pb::DispatchReplies& r) { log->push_back(std::move(r)); },
  };
}

struct fixture : test::actor_fixture {
  std::shared_ptr<test::manual_runner> runner
    = std::make_shared<test::manual_runner>();
  std::shared_ptr<replies_log> log = std::make_shared<replies_log>();
  caf::actor reg, router, console, client;
  client_ingress_actor ingress;

  fixture() {
    registry_config rc;
    rc.node_id = "node-a";
    rc.runner_factory = [r = runner](size_t) { return r; };
    reg = caf::actor_cast<caf::actor>(spawn_registry(sys, rc));
    router_config ro;
    ro.node_id = "node-a";
    ro.registry = caf::actor_cast<registry_actor>(reg);
    router = caf::actor_cast<caf::actor>(spawn_request_router(sys, ro));
    // Stands in for the console: the one actor whose admissions count.
    console = sys.spawn([] { return caf::behavior{[](int) {}}; });
    ingress = spawn_client_ingress(sys, "node-a",
                                   caf::actor_cast<router_actor>(router),
                                   console, false);
    client = sys.spawn(recorder, log);
    ask<caf::ok_atom>(reg, atom::add_v,
                      make_json_handler({"echo", "EchoService", "Echo"},
                                        [](const call_context&,
                                           const json& in) { return in; }));
  }

  ~fixture() {
    stop({client, caf::actor_cast<caf::actor>(ingress), console, router, reg});
  }

  void admit() {
    caf::send_as(console, ingress, atom::add_v, client->node());
    run();
  }

  /// Lets everything run to the end: actors, handler jobs, actors.
  void settle() {
    run();
    while (runner->run_all() > 0)
      run();
  }

  /// A batch of `n` echo requests, payload {"i": i}, tags 1000 + i.
  static pb::DispatchBatch echo_batch(int n) {
    pb::DispatchBatch b;
    for (int i = 0; i < n; ++i) {
      auto req = test::make_dispatch("echo", "EchoService", "Echo");
      *req.mutable_payload() = json_to_any(json{{"i", i}});
      *b.add_requests() = std::move(req);
      b.add_tags(static_cast<uint64_t>(1000 + i));
    }
    return b;
  }

  /// Every answer received so far, by tag (a tag answered twice fails).
  std::map<uint64_t, pb::DispatchResponse> answers() {
    std::map<uint64_t, pb::DispatchResponse> result;
    for (const auto& msg : *log) {
      CAF_REQUIRE_EQUAL(msg.responses_size(), msg.tags_size());
      for (int i = 0; i < msg.tags_size(); ++i)
        CAF_CHECK(result.emplace(msg.tags(i), msg.responses(i)).second);
    }
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(client_batch_tests, fixture)

CAF_TEST(every request of a batch gets one answer under its tag) {
  admit();
  const int n = 8;
  auto batch = echo_batch(n);
  // One request for a method nobody serves: answered not_found, the others
  // are not held up by it.
  *batch.mutable_requests(3)->mutable_ref()->mutable_method() = "Nope";
  caf::send_as(client, ingress, atom::batch_v, batch);
  settle();
  auto got = answers();
  CAF_REQUIRE_EQUAL(got.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto tag = static_cast<uint64_t>(1000 + i);
    CAF_REQUIRE_EQUAL(got.count(tag), 1u);
    const auto& r = got[tag];
    if (i == 3) {
      CAF_CHECK_EQUAL(test::code_of(r.status()), status_code::not_found);
      continue;
    }
    CAF_CHECK_EQUAL(test::code_of(r.status()), status_code::ok);
    // A named copy: the check keeps a reference to what it compares.
    auto payload = any_to_json(r.payload());
    json got_payload = payload ? *payload : json{};
    CAF_CHECK_EQUAL(got_payload, (json{{"i", i}}));
    CAF_CHECK_EQUAL(r.handled_by(), "node-a");
  }
  // Answers that complete together travel together.
  CAF_CHECK_LESS(log->size(), static_cast<size_t>(n));
}

CAF_TEST(a lone request is answered without waiting for company) {
  admit();
  caf::send_as(client, ingress, atom::batch_v, echo_batch(1));
  settle();
  CAF_REQUIRE_EQUAL(log->size(), 1u);
  CAF_REQUIRE_EQUAL(log->front().tags_size(), 1);
  CAF_CHECK_EQUAL(log->front().tags(0), 1000u);
  CAF_CHECK_EQUAL(test::code_of(log->front().responses(0).status()),
                  status_code::ok);
}

CAF_TEST(answers to a large batch are split at the bound) {
  admit();
  const int n = kMaxRepliesPerMessage + 44;
  caf::send_as(client, ingress, atom::batch_v, echo_batch(n));
  settle();
  CAF_CHECK_EQUAL(answers().size(), static_cast<size_t>(n));
  CAF_CHECK_GREATER_OR_EQUAL(log->size(), 2u);
  for (const auto& msg : *log)
    CAF_CHECK_LESS_OR_EQUAL(msg.tags_size(), kMaxRepliesPerMessage);
}

CAF_TEST(an unadmitted sender gets permission_denied for every tag) {
  caf::send_as(client, ingress, atom::batch_v, echo_batch(3));
  settle();
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
  auto got = answers();
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  for (const auto& [tag, r] : got) {
    CAF_CHECK_GREATER_OR_EQUAL(tag, 1000u);
    CAF_CHECK_EQUAL(test::code_of(r.status()), status_code::permission_denied);
    CAF_CHECK_NOT_EQUAL(r.status().message().find("console token"),
                        std::string::npos);
  }
  // Admission by anyone but the console counts for nothing.
  caf::send_as(client, ingress, atom::add_v, client->node());
  log->clear();
  caf::send_as(client, ingress, atom::batch_v, echo_batch(1));
  settle();
  CAF_REQUIRE_EQUAL(answers().size(), 1u);
  CAF_CHECK_EQUAL(test::code_of(answers()[1000].status()),
                  status_code::permission_denied);
}

CAF_TEST(a batch whose arrays differ in length runs nothing) {
  admit();
  auto batch = echo_batch(3);
  batch.mutable_tags()->RemoveLast(); // 3 requests, 2 tags
  caf::send_as(client, ingress, atom::batch_v, batch);
  settle();
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
  auto got = answers();
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  for (const auto& [tag, r] : got) {
    CAF_CHECK(tag == 1000u || tag == 1001u);
    CAF_CHECK_EQUAL(test::code_of(r.status()), status_code::invalid_argument);
    CAF_CHECK_NOT_EQUAL(r.status().message().find("3 requests, 2 tags"),
                        std::string::npos);
  }
  // More tags than requests: every tag answered, nothing run.
  log->clear();
  batch = echo_batch(1);
  batch.add_tags(7);
  caf::send_as(client, ingress, atom::batch_v, batch);
  settle();
  got = answers();
  CAF_CHECK_EQUAL(got.size(), 2u);
  CAF_CHECK_EQUAL(test::code_of(got[7].status()), status_code::invalid_argument);
  // No tags at all: nobody to answer; dropped.
  log->clear();
  batch = echo_batch(2);
  batch.clear_tags();
  caf::send_as(client, ingress, atom::batch_v, batch);
  settle();
  CAF_CHECK(log->empty());
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
}

CAF_TEST(the single request api still answers) {
  admit();
  auto req = test::make_dispatch("echo", "EchoService", "Echo");
  *req.mutable_payload() = json_to_any(json{{"x", 1}});
  auto h = self->request(caf::actor_cast<caf::actor>(ingress), caf::infinite,
                         std::move(req));
  settle();
  bool answered = false;
  h.receive(
    [&](pb::DispatchResponse& r) {
      answered = true;
      CAF_CHECK_EQUAL(test::code_of(r.status()), status_code::ok);
      auto payload = any_to_json(r.payload());
      json got_payload = payload ? *payload : json{};
      CAF_CHECK_EQUAL(got_payload, (json{{"x", 1}}));
    },
    [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(answered);
}

CAF_TEST_FIXTURE_SCOPE_END()
