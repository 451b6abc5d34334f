#define CAF_SUITE actors.batch_network
#include "net_fixture.hpp"

#include "check.hpp"

// Batches over the (simulated) network between real nodes (issue 16):
// requests ready together travel to a peer in one batch and every one is
// answered once; when the serving node dies with a batch in flight, each
// request in it is re-routed (idempotent) or answered unavailable.

using namespace mesh;
using namespace mesh::test;
using namespace std::chrono_literals;

namespace {

struct fixture : net_fixture {
  /// Sends `n` dispatches into `p`'s router before any of them runs.
  std::vector<std::shared_ptr<reply_log>>
  dispatch_together(planet& p, int n, const pb::DispatchRequest& req) {
    std::vector<std::shared_ptr<reply_log>> logs;
    for (int i = 0; i < n; ++i) {
      auto log = std::make_shared<reply_log>();
      auto client = p.sys.spawn(request_client, p.router, log);
      caf::anon_send(client, req);
      logs.push_back(log);
    }
    exhaust();
    return logs;
  }

  int64_t router_stat(planet& p, const std::string& name) {
    auto h = p.self->request(p.router, caf::infinite, atom::stats_v);
    exhaust();
    int64_t out = -1;
    h.receive([&](nlohmann::json& j) { out = j.at(name).get<int64_t>(); },
              [&](caf::error&) {});
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(batch_network_tests, fixture)

CAF_TEST(requests to one peer travel together and each is answered once) {
  start(earth, {"users"});
  start(mars, {"users"});
  add_handler(mars, "users", "UserService", "Get", true);
  prepare_link(earth, mars);
  CAF_REQUIRE(connect(earth, mars));
  auto logs = dispatch_together(earth, 16,
                                make_dispatch("users", "UserService", "Get"));
  for (auto& log : logs) {
    CAF_REQUIRE_EQUAL(log->total(), 1u);
    CAF_REQUIRE_EQUAL(log->dispatch.size(), 1u);
    CAF_CHECK(code_of(log->dispatch[0].status()) == status_code::ok);
    CAF_CHECK_EQUAL(handler_node(log->dispatch[0]), "mars");
  }
  CAF_CHECK_EQUAL(router_stat(earth, "batched"), 16);
  CAF_CHECK_LESS(router_stat(earth, "batches"), 16);
}

CAF_TEST(a node dying with a batch in flight loses no request) {
  start(earth, {"users"});
  start(mars, {"users"});
  start(jupiter, {"users"});
  add_handler(mars, "users", "UserService", "Get", true);
  add_handler(jupiter, "users", "UserService", "Get", true);
  add_handler(mars, "users", "UserService", "Create", false);
  prepare_link(earth, mars);
  prepare_link(earth, jupiter);
  CAF_REQUIRE(connect(earth, mars));
  CAF_REQUIRE(connect(earth, jupiter));
  mars.frozen = true; // its batch arrives, nothing in it is answered
  auto get = make_dispatch("users", "UserService", "Get");
  get.set_deadline_ms(5000);
  auto gets = dispatch_together(earth, 12, get); // half of them on mars
  auto creates = dispatch_together(
    earth, 4, make_dispatch("users", "UserService", "Create"));
  size_t answered = 0;
  for (auto& log : gets)
    answered += log->total();
  CAF_CHECK_EQUAL(answered, 6u); // jupiter's half
  for (auto& log : creates)
    CAF_CHECK_EQUAL(log->total(), 0u);
  CAF_CHECK_GREATER_OR_EQUAL(router_stat(earth, "batched"), 10);
  run_for(600ms); // mars is declared down
  // Mars's gets are retried on jupiter while the retry budget lasts (the
  // default policy's, sized for a trickle of failures, not six at once);
  // the others are answered unavailable, naming mars.
  int retried = 0;
  for (auto& log : gets) {
    CAF_REQUIRE_EQUAL(log->total(), 1u);
    const auto& r = log->dispatch[0];
    if (code_of(r.status()) == status_code::ok) {
      CAF_CHECK_EQUAL(handler_node(r), "jupiter");
      ++retried;
    } else {
      CAF_CHECK(code_of(r.status()) == status_code::unavailable);
      MESH_CHECK_MSG(r.status().message().find("mars went down")
                       != std::string::npos,
                     r.status().message());
    }
  }
  CAF_CHECK_GREATER(retried, 6); // jupiter's own six, and retries
  CAF_MESSAGE(retried - 6 << " of mars's 6 gets retried on jupiter");
  for (auto& log : creates) {
    CAF_REQUIRE_EQUAL(log->total(), 1u);
    CAF_CHECK(code_of(log->dispatch[0].status())
              == status_code::unavailable);
  }
  // Time runs on: nothing is answered twice.
  run_for(6s);
  for (auto& log : gets)
    CAF_CHECK_EQUAL(log->total(), 1u);
  for (auto& log : creates)
    CAF_CHECK_EQUAL(log->total(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
