#define CAF_SUITE actors.batch_serve
#include "check.hpp"

#include <map>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "fixtures.hpp"
#include "protocol/json/json_payload.hpp"

// A peer's batch served by the real ingress, router and registry (issue
// 16, router_serve.cpp): the router answers the inline handlers'
// requests and the refusals of a batch in one activation; requests that
// need an executor go through it one by one. Every tag is answered once,
// whatever the mix, an unknown method or a handler that fails.

using namespace mesh;
using namespace mesh::test;
using nlohmann::json;

namespace {

struct seen_replies {
  std::vector<pb::ServeReplies> batches;
};

using seen_ptr = std::shared_ptr<seen_replies>;

// The peer's ingress for us: records the answers.
caf::behavior fake_return(caf::event_based_actor*, seen_ptr seen) {
  return {
    [seen](atom::batch, pb::ServeReplies& r) {
      seen->batches.push_back(std::move(r));
    },
  };
}

caf::behavior idle_cluster() {
  return {[](atom::heartbeat, const pb::Heartbeat&) {}};
}

struct fixture : actor_fixture {
  std::shared_ptr<manual_runner> runner = std::make_shared<manual_runner>();
  seen_ptr seen = std::make_shared<seen_replies>();
  caf::actor reg;
  caf::actor router;
  caf::actor cluster = sys.spawn(idle_cluster);
  caf::actor back = sys.spawn(fake_return, seen);
  peer_ingress_actor in;

  fixture() {
    registry_config rc;
    rc.node_id = "earth";
    rc.runner_factory = [r = runner](size_t) { return r; };
    reg = caf::actor_cast<caf::actor>(spawn_registry(sys, rc));
    router_config cfg;
    cfg.node_id = "earth";
    cfg.registry = caf::actor_cast<registry_actor>(reg);
    router = caf::actor_cast<caf::actor>(spawn_request_router(sys, cfg));
    handler_options fast;
    fast.non_blocking = true;
    add(make_json_handler({"ns", "Svc", "Fast"},
                          [](const call_context& ctx, const json&) {
                            return json{{"ran", ctx.trace_id}};
                          },
                          fast));
    add(make_json_handler({"ns", "Svc", "Slow"},
                          [](const call_context& ctx, const json&) {
                            return json{{"ran", ctx.trace_id}};
                          }));
    add(make_json_handler({"ns", "Svc", "Broken"},
                          [](const call_context&, const json&) -> json {
                            throw handler_failure(status_code::not_found,
                                                  "no such thing");
                          }));
    peer_ingress_config ic;
    ic.node_id = "earth";
    ic.peer_node = sys.node(); // the test's own actors play the peer
    ic.peer_id = "mars";
    ic.reply_to = caf::actor_cast<peer_actor>(back);
    ic.cluster = caf::actor_cast<cluster_actor>(cluster);
    ic.router = caf::actor_cast<router_actor>(router);
    in = spawn_peer_ingress(sys, std::move(ic));
    run();
  }

  ~fixture() {
    stop({caf::actor_cast<caf::actor>(in), cluster, back, router, reg});
  }

  void add(handler_spec spec) {
    ask<caf::ok_atom>(reg, atom::add_v, std::move(spec));
  }

  /// Sends a batch of (method, trace id) and runs it to the end, the
  /// executor's jobs included.
  void serve(const std::vector<std::pair<std::string, std::string>>& calls) {
    pb::ServeBatch b;
    uint64_t tag = 0;
    for (const auto& [method, id] : calls) {
      auto* req = b.add_requests();
      req->mutable_ref()->set_namespace_("ns");
      req->mutable_ref()->set_service("Svc");
      req->mutable_ref()->set_method(method);
      req->set_trace_id(id);
      req->set_origin_node("mars");
      *req->mutable_payload() = json_to_any(json::object());
      b.add_tags(++tag);
    }
    self->send(in, atom::batch_v, std::move(b));
    run();
    while (runner->run_one())
      run();
  }

  /// Every answer by tag; fails on a tag answered twice.
  std::map<uint64_t, pb::ServeResponse> answers() {
    std::map<uint64_t, pb::ServeResponse> out;
    for (const auto& r : seen->batches) {
      CAF_REQUIRE_EQUAL(r.tags_size(), r.responses_size());
      for (int i = 0; i < r.tags_size(); ++i)
        CAF_CHECK(out.emplace(r.tags(i), r.responses(i)).second);
    }
    return out;
  }

  static std::string code(const pb::ServeResponse& r) {
    return to_string(code_of(r.status()));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(batch_serve_tests, fixture)

CAF_TEST(inline requests of a batch are answered together) {
  serve({{"Fast", "a"}, {"Fast", "b"}, {"Fast", "c"}});
  CAF_CHECK_EQUAL(runner->waiting(), 0u); // no executor involved
  auto all = answers();
  CAF_REQUIRE_EQUAL(all.size(), 3u);
  CAF_CHECK_EQUAL(seen->batches.size(), 1u); // one message back
  CAF_CHECK_EQUAL(all[1].trace_id(), "a");
  CAF_CHECK_EQUAL(all[3].trace_id(), "c");
  for (auto& [tag, r] : all) {
    CAF_CHECK_EQUAL(code(r), "ok");
    CAF_CHECK_EQUAL(r.executor_id(), "earth");
  }
}

CAF_TEST(a mixed batch answers every tag once) {
  serve({{"Slow", "s1"}, {"Fast", "f1"}, {"Slow", "s2"}, {"Fast", "f2"},
         {"Broken", "x"}, {"Nope", "n"}});
  auto all = answers();
  CAF_REQUIRE_EQUAL(all.size(), 6u);
  std::map<uint64_t, std::string> ids, codes;
  for (auto& [tag, r] : all) {
    ids[tag] = r.trace_id();
    codes[tag] = code(r);
  }
  CAF_CHECK_EQUAL(ids, (std::map<uint64_t, std::string>{
                         {1, "s1"}, {2, "f1"}, {3, "s2"}, {4, "f2"},
                         {5, "x"}, {6, "n"}}));
  CAF_CHECK_EQUAL(codes, (std::map<uint64_t, std::string>{
                           {1, "ok"},
                           {2, "ok"},
                           {3, "ok"},
                           {4, "ok"},
                           {5, "not_found"},    // the handler's own failure
                           {6, "not_found"}})); // no such method
  // The executor's failure names the node that ran it; the unknown method
  // ran nowhere.
  CAF_CHECK_EQUAL(all[5].executor_id(), "earth");
  CAF_CHECK(all[6].executor_id().empty());
  CAF_CHECK(all[6].status().message().find("ns/Svc/Nope") != std::string::npos);
}

CAF_TEST(the inline answers do not wait for the executor) {
  pb::ServeBatch b;
  for (auto [m, id] : {std::pair{"Slow", "s"}, std::pair{"Fast", "f"}}) {
    auto* req = b.add_requests();
    req->mutable_ref()->set_namespace_("ns");
    req->mutable_ref()->set_service("Svc");
    req->mutable_ref()->set_method(m);
    req->set_trace_id(id);
    *req->mutable_payload() = json_to_any(json::object());
    b.add_tags(static_cast<uint64_t>(b.tags_size() + 1));
  }
  self->send(in, atom::batch_v, std::move(b));
  run(); // the executor's job has not run
  auto first = answers();
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first.begin()->second.trace_id(), "f");
  while (runner->run_one())
    run();
  CAF_CHECK_EQUAL(answers().size(), 2u);
}

CAF_TEST(an empty batch is answered with two empty parts) {
  auto h = self->request(caf::actor_cast<router_actor>(router), caf::infinite,
                         atom::batch_v, pb::ServeBatch{});
  run();
  bool answered = false;
  h.receive([&](pb::ServeReplies& done, pb::ServeBatch& rest) {
    answered = done.tags_size() == 0 && rest.tags_size() == 0;
  },
            [&](caf::error&) {});
  CAF_CHECK(answered);
}

CAF_TEST_FIXTURE_SCOPE_END()
