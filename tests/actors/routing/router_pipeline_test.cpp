#define CAF_SUITE actors.router_pipeline
#include "router_fixture.hpp"

#include <stdexcept>

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;
using test::contains;
using test::strings;

namespace {

struct fixture : test::router_fixture {
  /// Adds a pre-hook that records its name in `order` and passes.
  void add_recording(const std::string& name, hook_stage stage,
                     std::shared_ptr<std::vector<std::string>> order) {
    mem->hooks->add(name, stage, [name, order](hook_call&) {
      order->push_back(name);
      return hook_verdict::pass();
    });
  }

  std::vector<std::string> hooks_of(const pb::DispatchResponse& r) {
    return {r.explain().hooks().begin(), r.explain().hooks().end()};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_pipeline_tests, fixture)

CAF_TEST(the most specific policy applies and the default when none matches) {
  // Listed least specific first: specificity decides, not the order.
  start({test::make_policy("by-ns", "ns/*/*"),
         test::make_policy("by-service", "*/Svc/*"),
         test::make_policy("by-method", "*/*/Get"),
         test::make_policy("exact", "ns/Svc/Get")},
        {"node-b"});
  auto exact = dispatch(test::explained(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(exact), "ok");
  CAF_CHECK_EQUAL(exact.explain().policy(), "exact");
  // One literal segment each: the namespace counts before the service.
  auto put = dispatch(test::explained(test::put_key));
  CAF_CHECK_EQUAL(test::code_name(put), "ok");
  CAF_CHECK_EQUAL(put.explain().policy(), "by-ns");
  auto other = dispatch(test::explained(test::run_key));
  CAF_CHECK_EQUAL(test::code_name(other), "ok");
  CAF_CHECK_EQUAL(other.handled_by(), "node-b");
  CAF_CHECK_EQUAL(other.explain().policy(), "default");
  CAF_REQUIRE_EQUAL(other.explain().attempts_size(), 1);
  CAF_CHECK_EQUAL(other.explain().attempts(0).node(), "node-b");
  CAF_CHECK_EQUAL(test::code_name(other.explain().attempts(0)), "ok");
}

CAF_TEST(a plain success carries the explanation only when asked for) {
  start({test::make_policy("plain", "ns/*/*")}, {"node-b"});
  auto plain = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(plain), "ok");
  CAF_CHECK_EQUAL(plain.handled_by(), "node-b");
  CAF_CHECK(!plain.has_explain());
  auto asked = dispatch(test::explained(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(asked), "ok");
  CAF_REQUIRE(asked.has_explain());
  CAF_CHECK_EQUAL(asked.explain().policy(), "plain");
  CAF_CHECK_EQUAL(test::nodes_of(asked), strings{"node-b"});
  CAF_CHECK_EQUAL(test::statuses_of(asked), strings{"ok"});
  // A failure explains itself unasked.
  auto handler_error = test::fake_answer::fail(status_code::handler_error);
  peer("node-b").otherwise = handler_error;
  auto failed = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(failed), "handler_error");
  CAF_REQUIRE(failed.has_explain());
  CAF_CHECK_EQUAL(failed.explain().policy(), "plain");
  CAF_CHECK_EQUAL(test::statuses_of(failed), strings{"handler_error"});
}

CAF_TEST(a rejecting pre-hook answers with its status and stops the request) {
  auto p = test::make_policy("guarded", "ns/*/*");
  p.hooks = {"deny"};
  mem->hooks->add("deny", hook_stage::pre, [](hook_call& hc) {
    return hook_verdict::reject(status_code::permission_denied,
                                "caller " + hc.caller + " may not call "
                                    + hc.path);
  });
  start({p}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "permission_denied");
  CAF_CHECK_EQUAL(r.status().message(),
                  "caller node-a may not call ns/Svc/Get");
  CAF_CHECK_EQUAL(r.handled_by(), "");
  CAF_CHECK_EQUAL(r.explain().policy(), "guarded");
  CAF_CHECK_EQUAL(hooks_of(r), strings{"deny"});
  CAF_CHECK_EQUAL(r.explain().attempts_size(), 0);
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 0u);
  CAF_CHECK_EQUAL(hook("deny").rejected.load(), 1u);
  CAF_CHECK_EQUAL(stat("hook_rejected"), 1);
}

CAF_TEST(a throwing pre-hook is handler_error naming the hook) {
  auto p = test::make_policy("guarded", "ns/*/*");
  p.hooks = {"explode"};
  mem->hooks->add("explode", hook_stage::pre, [](hook_call&) -> hook_verdict {
    throw std::runtime_error("boom");
  });
  start({p}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "handler_error");
  CAF_CHECK_EQUAL(r.status().message(), "hook explode failed: boom");
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 0u);
  CAF_CHECK_EQUAL(hook("explode").failed.load(), 1u);
}

CAF_TEST(context a pre-hook adds travels with the request to the peer) {
  auto p = test::make_policy("tagged", "ns/*/*");
  p.hooks = {"tenant"};
  mem->hooks->add("tenant", hook_stage::pre, [](hook_call& hc) {
    hc.context["tenant"] = "acme";
    return hook_verdict::pass();
  });
  start({p}, {"node-b"});
  auto req = test::request(test::get_key);
  (*req.mutable_context())["user"] = "u1";
  auto r = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  auto& got = peer("node-b").received;
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  const auto& ctx = got[0].context();
  CAF_CHECK_EQUAL(ctx.size(), 2u);
  CAF_REQUIRE(ctx.count("tenant") == 1);
  CAF_CHECK_EQUAL(ctx.at("tenant"), "acme");
  CAF_REQUIRE(ctx.count("user") == 1);
  CAF_CHECK_EQUAL(ctx.at("user"), "u1");
}

CAF_TEST(a failing post-hook leaves the answer as it is and is counted) {
  auto p = test::make_policy("observed", "ns/*/*");
  p.hooks = {"post_throw", "post_reject"};
  auto seen = std::make_shared<std::vector<std::string>>();
  mem->hooks->add("post_throw", hook_stage::post,
                  [seen](hook_call& hc) -> hook_verdict {
                    seen->push_back(std::string{to_string(hc.status)} + " by "
                                    + hc.handled_by);
                    throw std::runtime_error("post boom");
                  });
  mem->hooks->add("post_reject", hook_stage::post, [](hook_call&) {
    return hook_verdict::reject(status_code::permission_denied, "too late");
  });
  start({p}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK_EQUAL(r.status().message(), "");
  CAF_CHECK_EQUAL(r.handled_by(), "node-b");
  auto payload = any_to_json(r.payload());
  CAF_REQUIRE(payload);
  CAF_CHECK_EQUAL(*payload, (json{{"node", "node-b"}}));
  CAF_CHECK_EQUAL(hooks_of(r), (strings{"post_throw", "post_reject"}));
  CAF_CHECK_EQUAL(*seen, strings{"ok by node-b"});
  CAF_CHECK_EQUAL(hook("post_throw").failed.load(), 1u);
  CAF_CHECK_EQUAL(hook("post_reject").failed.load(), 1u);
  CAF_CHECK_EQUAL(hook("post_reject").rejected.load(), 0u);
  // The router's report says the same.
  auto rows = ask<json>(router, atom::hooks_v).at("hooks");
  CAF_REQUIRE_EQUAL(rows.size(), 2u);
  for (const auto& row : rows) {
    CAF_CHECK_EQUAL(row.at("failed"), 1);
    CAF_CHECK_EQUAL(row.at("calls"), 1);
  }
}

CAF_TEST(skip_hooks skips a hook and the explanation lists hooks in order) {
  auto p = test::make_policy("hooked", "ns/*/*");
  p.hooks = {"first", "second", "after", "third"};
  auto order = std::make_shared<std::vector<std::string>>();
  add_recording("first", hook_stage::pre, order);
  add_recording("second", hook_stage::pre, order);
  add_recording("third", hook_stage::pre, order);
  add_recording("after", hook_stage::post, order);
  start({p}, {"node-b"});
  auto all = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(all), "ok");
  // Pre-hooks in the policy's order, then the post-hooks.
  std::vector<std::string> every{"first", "second", "third", "after"};
  CAF_CHECK_EQUAL(*order, every);
  CAF_CHECK_EQUAL(hooks_of(all), every);
  order->clear();
  auto req = test::request(test::get_key);
  req.mutable_directives()->add_skip_hooks("second");
  auto skipped = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(skipped), "ok");
  std::vector<std::string> without{"first", "third", "after"};
  CAF_CHECK_EQUAL(*order, without);
  CAF_CHECK_EQUAL(hooks_of(skipped), without);
  CAF_CHECK_EQUAL(hook("second").calls.load(), 1u);
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 2u);
}

CAF_TEST(a policy naming an unregistered hook is internal naming both) {
  auto p = test::make_policy("strict", "ns/*/*");
  p.hooks = {"ghost"};
  start({p}, {"node-b"});
  auto r = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(r), "internal");
  MESH_CHECK_MSG(contains(r.status().message(), "'strict'")
                     && contains(r.status().message(), "'ghost'"),
                 r.status().message());
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 0u);
}

CAF_TEST(the rate limit refuses past the burst and refills with time) {
  auto p = test::make_policy("limited", "ns/*/*");
  p.rate_limit.per_second = 1;
  p.rate_limit.burst = 2;
  start({p}, {"node-b"});
  // Three at the same instant: the burst lets two through.
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                  "ok");
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                  "ok");
  auto third = dispatch(test::request(test::get_key));
  CAF_CHECK_EQUAL(test::code_name(third), "overloaded");
  MESH_CHECK_MSG(contains(third.status().message(), "'limited'"),
                 third.status().message());
  CAF_CHECK_EQUAL(third.explain().policy(), "limited");
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 2u);
  // Just short of a second: still no token.
  advance(999ms);
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                  "overloaded");
  // One second after the burst: exactly one more passes.
  advance(1ms);
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                  "ok");
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::get_key))),
                  "overloaded");
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 3u);
  // A path of another policy is not limited.
  CAF_CHECK_EQUAL(test::code_name(dispatch(test::request(test::run_key))),
                  "ok");
  CAF_CHECK_EQUAL(stat("rate_limited"), 3);
}

CAF_TEST(a dry run names the peer and sends nothing) {
  start({test::make_policy("plain", "ns/*/*")}, {"node-b"});
  auto req = test::request(test::get_key);
  req.mutable_directives()->set_dry_run(true);
  auto r = dispatch(req);
  CAF_CHECK_EQUAL(test::code_name(r), "ok");
  CAF_CHECK(r.explain().dry_run());
  MESH_CHECK_MSG(contains(r.explain().decision(), "would run on node-b"),
                 r.explain().decision());
  MESH_CHECK_MSG(contains(r.explain().decision(), "policy plain"),
                 r.explain().decision());
  CAF_CHECK_EQUAL(r.explain().policy(), "plain");
  CAF_CHECK_EQUAL(r.explain().attempts_size(), 0);
  CAF_CHECK_EQUAL(r.handled_by(), "");
  CAF_CHECK_EQUAL(peer("node-b").received.size(), 0u);
  CAF_CHECK_EQUAL(stat("dry_runs"), 1);
}

CAF_TEST(the timeout directive bounds the wait on a frozen peer) {
  auto p = test::make_policy("slow", "ns/*/*");
  p.timeout = 10s;
  start({p}, {"node-b"});
  peer("node-b").otherwise = test::fake_answer::frozen();
  auto req = test::request(test::get_key, "t-frozen");
  req.mutable_directives()->set_timeout_ms(300);
  send(req);
  auto& got = peer("node-b").received;
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  // The directive, not the policy's 10 s, is the peer's budget.
  CAF_CHECK_EQUAL(got[0].deadline_ms(), 300u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  // The router waits the deadline plus its grace for the peer's own
  // deadline_exceeded (answer_grace, 250 ms), then answers itself.
  advance(300ms);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance(249ms);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance(1ms);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK_EQUAL(test::code_name(r), "deadline_exceeded");
  MESH_CHECK_MSG(contains(r.status().message(), "node-b")
                     && contains(r.status().message(), "300 ms"),
                 r.status().message());
  CAF_REQUIRE_EQUAL(r.explain().attempts_size(), 1);
  CAF_CHECK_EQUAL(test::code_name(r.explain().attempts(0)),
                  "deadline_exceeded");
  // The peer's late answer changes nothing: one answer, once.
  CAF_CHECK_EQUAL(release("t-frozen", test::fake_answer::ok()), "node-b");
  advance(10s);
  CAF_CHECK_EQUAL(replies->total(), 1u);
  CAF_CHECK_EQUAL(stat("pending"), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
