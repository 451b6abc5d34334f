#define CAF_SUITE actors.request_router
#include "check.hpp"

#include <algorithm>
#include "fixtures.hpp"

#include <atomic>
#include <thread>

#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/registry/registry_validator.hpp"
#include "actors/routing/request_router.hpp"
#include "protocol/json/json_payload.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Accepts everything but GetSecret, and counts its calls.
class counting_validator : public registry_validator {
public:
  mutable std::atomic<int> calls{0};
  std::string validate(std::string_view, std::string_view,
                       std::string_view method) const override {
    ++calls;
    return method == "GetSecret" ? "not in the catalogue" : "";
  }
  std::string describe() const override {
    return "counting";
  }
};

struct fixture : test::actor_fixture {
  std::shared_ptr<test::manual_runner> runner
    = std::make_shared<test::manual_runner>();
  std::shared_ptr<test::reply_log> replies
    = std::make_shared<test::reply_log>();
  caf::actor reg;
  caf::actor router;
  caf::actor client;

  fixture() {
    registry_config rc;
    rc.node_id = "node-a";
    rc.runner_factory = [r = runner](size_t) { return r; };
    reg = caf::actor_cast<caf::actor>(spawn_registry(sys, rc));
    router_config cfg;
    cfg.node_id = "node-a";
    cfg.max_payload_bytes = 1024;
    cfg.registry = caf::actor_cast<registry_actor>(reg);
    router = caf::actor_cast<caf::actor>(spawn_request_router(sys, cfg));
    client = sys.spawn(test::request_client, router, replies);
    add("users", "UserService", "GetUser");
    add("users", "UserService", "GetSecret");
  }

  ~fixture() {
    stop({client, router, reg});
  }

  void add(const std::string& ns, const std::string& s, const std::string& m) {
    ask<caf::ok_atom>(reg, atom::add_v,
                      make_json_handler({ns, s, m},
                                        [](const call_context& ctx,
                                           const json&) {
                                          return json{{"node", ctx.node_id}};
                                        }));
  }

  /// The stats the registry reports for handler `path` (null when none).
  json stats_of(const std::string& path) {
    for (auto& h : ask<json>(reg, atom::handlers_v))
      if (h["handler"] == path)
        return h["stats"];
    return nullptr;
  }

  /// Sends a dispatch, lets the handler run, returns the one reply.
  pb::DispatchResponse dispatch(pb::DispatchRequest req) {
    auto before = replies->dispatch.size();
    self->send(client, std::move(req));
    run();
    runner->run_all();
    run();
    CAF_REQUIRE_EQUAL(replies->dispatch.size(), before + 1);
    return replies->dispatch.back();
  }

  pb::ServeResponse serve(const std::string& ns, const std::string& service,
                          const std::string& method) {
    pb::ServeRequest req;
    req.mutable_ref()->set_namespace_(ns);
    req.mutable_ref()->set_service(service);
    req.mutable_ref()->set_method(method);
    auto before = replies->serve.size();
    self->send(client, std::move(req));
    run();
    runner->run_all();
    run();
    CAF_REQUIRE_EQUAL(replies->serve.size(), before + 1);
    return replies->serve.back();
  }

  void check(const pb::DispatchResponse& r, status_code code,
             const std::string& text) {
    CAF_CHECK_EQUAL(to_string(test::code_of(r.status())), to_string(code));
    MESH_CHECK_MSG(r.status().message().find(text) != std::string::npos,
                      "'" << r.status().message() << "' lacks '" << text
                          << "'");
    CAF_CHECK_EQUAL(r.trace_id().size(), 32u);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(router_tests, fixture)

CAF_TEST(a local dispatch runs and names the node; a trace id is made) {
  auto r = dispatch(test::make_dispatch("users", "UserService", "GetUser"));
  CAF_CHECK(test::code_of(r.status()) == status_code::ok);
  CAF_CHECK_EQUAL(r.handled_by(), "node-a");
  CAF_CHECK_EQUAL(r.trace_id().size(), 32u);
  CAF_CHECK_EQUAL(any_to_json(r.payload())->at("node").get<std::string>(), "node-a");
}

CAF_TEST(the trace id of a caller is kept) {
  auto req = test::make_dispatch("users", "UserService", "GetUser");
  req.set_trace_id("my-trace");
  auto r = dispatch(req);
  CAF_CHECK_EQUAL(r.trace_id(), "my-trace");
}

CAF_TEST(a malformed trace id is refused and not carried back) {
  auto req = test::make_dispatch("users", "UserService", "GetUser");
  req.set_trace_id("abc\nINFO forged");
  auto r = dispatch(req);
  // check() also wants a fresh 32-digit id in place of the bad one.
  check(r, status_code::invalid_argument, "trace_id may hold only");
  CAF_CHECK(r.trace_id().find('\n') == std::string::npos);
  auto long_req = test::make_dispatch("users", "UserService", "GetUser");
  long_req.set_trace_id(std::string(200, 'x'));
  check(dispatch(long_req), status_code::invalid_argument,
        "200 characters, more than the limit of 128");
}

CAF_TEST(missing fields are invalid_argument naming the field) {
  check(dispatch(test::make_dispatch("", "UserService", "GetUser")),
        status_code::invalid_argument, "namespace is missing");
  check(dispatch(test::make_dispatch("users", "", "GetUser")),
        status_code::invalid_argument, "service is missing");
  check(dispatch(test::make_dispatch("users", "UserService", "")),
        status_code::invalid_argument, "method is missing");
}

CAF_TEST(unknown namespace and method are not_found naming them) {
  check(dispatch(test::make_dispatch("billing", "Invoices", "Get")),
        status_code::not_found, "namespace 'billing'");
  check(dispatch(test::make_dispatch("users", "UserService", "Delete")),
        status_code::not_found, "users/UserService/Delete is not registered");
  check(dispatch(test::make_dispatch("users", "Other", "GetUser")),
        status_code::not_found, "users/Other/GetUser");
}

CAF_TEST(an oversized payload is invalid_argument) {
  auto req = test::make_dispatch("users", "UserService", "GetUser");
  *req.mutable_payload() = json_to_any(std::string(2000, 'x'));
  check(dispatch(req), status_code::invalid_argument, "exceeds the limit");
}

CAF_TEST(a target equal to this node runs locally and any other is unavailable) {
  auto r = dispatch(test::make_dispatch("users", "UserService", "GetUser",
                                        "node-a"));
  CAF_CHECK(test::code_of(r.status()) == status_code::ok);
  check(dispatch(test::make_dispatch("users", "UserService", "GetUser",
                                     "node-z")),
        status_code::unavailable, "node-z");
}

CAF_TEST(the hop count is bounded) {
  auto req = test::make_dispatch("users", "UserService", "GetUser");
  req.set_hops(5);
  check(dispatch(req), status_code::unavailable, "more than the limit of 4");
}

CAF_TEST(the validator runs exactly once per request and rejects as not_found) {
  auto v = std::make_shared<counting_validator>();
  ask<caf::ok_atom>(reg, atom::validator_v, registry_validator_ptr{v});
  run();
  auto ok = dispatch(test::make_dispatch("users", "UserService", "GetUser"));
  CAF_CHECK(test::code_of(ok.status()) == status_code::ok);
  CAF_CHECK_EQUAL(v->calls.load(), 1);
  auto rejected = dispatch(test::make_dispatch("users", "UserService",
                                               "GetSecret"));
  check(rejected, status_code::not_found, "is not registered");
  CAF_CHECK_EQUAL(v->calls.load(), 2);
  auto served = serve("users", "UserService", "GetUser");
  CAF_CHECK(test::code_of(served.status()) == status_code::ok);
  CAF_CHECK_EQUAL(served.executor_id(), "node-a");
  CAF_CHECK_EQUAL(v->calls.load(), 3);
}

CAF_TEST(serve only runs local handlers) {
  auto r = serve("billing", "Invoices", "Get");
  CAF_CHECK(test::code_of(r.status()) == status_code::not_found);
  CAF_CHECK(r.status().message().find("billing") != std::string::npos);
}

CAF_TEST(a draining router refuses new requests but answers them) {
  ask<caf::ok_atom>(router, atom::drain_v);
  check(dispatch(test::make_dispatch("users", "UserService", "GetUser")),
        status_code::unavailable, "shutting down");
}

CAF_TEST(a non-blocking handler runs on the router without its executor) {
  handler_options fast;
  fast.non_blocking = true;
  int calls = 0;
  ask<caf::ok_atom>(reg, atom::add_v,
                    make_json_handler({"users", "Fast", "Echo"},
                                      [&calls](const call_context& ctx,
                                               const json& in) {
                                        ++calls;
                                        return json{{"node", ctx.node_id},
                                                    {"in", in}};
                                      },
                                      fast));
  run();
  auto req = test::make_dispatch("users", "Fast", "Echo");
  *req.mutable_payload() = json_to_any(7);
  self->send(client, req);
  run(); // no job reaches the runner: answered on the router
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch.back();
  CAF_CHECK(test::code_of(r.status()) == status_code::ok);
  CAF_CHECK_EQUAL(r.handled_by(), "node-a");
  CAF_CHECK_EQUAL(any_to_json(r.payload())->at("in").get<int>(), 7);
  CAF_CHECK_EQUAL(calls, 1);
  // Its executor still reports it.
  auto stats = stats_of("users/Fast/Echo");
  CAF_REQUIRE(stats.is_object());
  CAF_CHECK_EQUAL(stats["calls"], 1);
  CAF_CHECK_EQUAL(stats["non_blocking"], true);
}

CAF_TEST(a non-blocking handler that blocks twice goes to its executor) {
  handler_options fast;
  fast.non_blocking = true;
  int calls = 0;
  ask<caf::ok_atom>(reg, atom::add_v,
                    make_json_handler({"users", "Fast", "Slow"},
                                      [&calls](const call_context&,
                                               const json& in) {
                                        // Blocks against its declaration
                                        // (the behaviour under test).
                                        if (++calls <= 2)
                                          std::this_thread::sleep_for(
                                            inline_stall + 10ms);
                                        return in;
                                      },
                                      fast));
  run();
  for (int i = 0; i < 2; ++i) { // on the router, both
    self->send(client, test::make_dispatch("users", "Fast", "Slow"));
    run();
    CAF_CHECK_EQUAL(runner->waiting(), 0u);
  }
  CAF_CHECK_EQUAL(replies->dispatch.size(), 2u);
  // The third goes to its executor, whose threads run it.
  self->send(client, test::make_dispatch("users", "Fast", "Slow"));
  run();
  CAF_CHECK_EQUAL(replies->dispatch.size(), 2u);
  CAF_REQUIRE_EQUAL(runner->waiting(), 1u);
  runner->run_all();
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 3u);
  CAF_CHECK(test::code_of(replies->dispatch.back().status())
            == status_code::ok);
  CAF_CHECK_EQUAL(calls, 3);
  // One set of counters for all three.
  auto stats = stats_of("users/Fast/Slow");
  CAF_REQUIRE(stats.is_object());
  CAF_CHECK_EQUAL(stats["calls"], 3);
  CAF_CHECK_EQUAL(stats["demoted"], true);
}

CAF_TEST(a non-blocking handler that throws is handler_error) {
  handler_options fast;
  fast.non_blocking = true;
  ask<caf::ok_atom>(reg, atom::add_v,
                    make_json_handler({"users", "Fast", "Fail"},
                                      [](const call_context&,
                                         const json&) -> json {
                                        throw std::runtime_error(
                                          "api_key=abc123 rejected");
                                      },
                                      fast));
  run();
  self->send(client, test::make_dispatch("users", "Fast", "Fail"));
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& s = replies->dispatch.back().status();
  CAF_CHECK(test::code_of(s) == status_code::handler_error);
  CAF_CHECK(s.message().find("abc123") == std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
