#define CAF_SUITE actors.handler_executor
#include "fixtures.hpp"

#include "actors/handlers/handler.hpp"
#include "actors/handlers/handler_executor.hpp"
#include "protocol/json/json_payload.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct fixture : test::actor_fixture {
  std::shared_ptr<test::manual_runner> runner
    = std::make_shared<test::manual_runner>();
  std::shared_ptr<test::reply_log> replies
    = std::make_shared<test::reply_log>();
  caf::actor exec;
  caf::actor client;
  int calls = 0;

  ~fixture() {
    stop({client, exec});
  }

  executor_config config(handler_spec spec) {
    executor_config cfg;
    cfg.node_id = "node-a";
    cfg.spec = std::move(spec);
    cfg.max_concurrency = 2;
    cfg.max_queue = 2;
    cfg.default_deadline = 1000ms;
    cfg.max_deadline = 5000ms;
    cfg.runner_factory = [r = runner](size_t) { return r; };
    return cfg;
  }

  void start(handler_spec spec) {
    exec = caf::actor_cast<caf::actor>(spawn_handler_executor(sys, config(std::move(spec))));
    client = sys.spawn(test::request_client, exec, replies);
    run();
  }

  void start_echo() {
    start(make_json_handler({"echo", "EchoService", "Echo"},
                            [this](const call_context&, const json& in) {
                              ++calls;
                              return in;
                            }));
  }

  void send(uint32_t deadline_ms = 0, const std::string& trace = "t") {
    auto req = test::make_dispatch("echo", "EchoService", "Echo");
    req.set_trace_id(trace);
    req.set_deadline_ms(deadline_ms);
    *req.mutable_payload() = json_to_any(json{{"n", 1}});
    self->send(client, std::move(req));
    run();
  }

  json stats() {
    return ask<json>(exec, atom::stats_v);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(executor_tests, fixture)

CAF_TEST(a call runs on the runner and is answered with node and trace) {
  start_echo();
  send(0, "trace-1");
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
  CAF_CHECK_EQUAL(replies->total(), 0u); // not answered before it ran
  runner->run_all();
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& r = replies->dispatch[0];
  CAF_CHECK(test::code_of(r.status()) == status_code::ok);
  CAF_CHECK_EQUAL(r.handled_by(), "node-a");
  CAF_CHECK_EQUAL(r.trace_id(), "trace-1");
  CAF_CHECK_EQUAL(any_to_json(r.payload())->at("n").get<int>(), 1);
}

CAF_TEST(serve requests are answered with executor_id) {
  start_echo();
  pb::ServeRequest req;
  req.mutable_ref()->set_namespace_("echo");
  req.set_trace_id("t2");
  self->send(client, req);
  run();
  runner->run_all();
  run();
  CAF_REQUIRE_EQUAL(replies->serve.size(), 1u);
  CAF_CHECK_EQUAL(replies->serve[0].executor_id(), "node-a");
  CAF_CHECK_EQUAL(replies->serve[0].trace_id(), "t2");
}

CAF_TEST(concurrency and queue are bounded; beyond them overloaded) {
  start_echo();
  for (int i = 0; i < 4; ++i)
    send();
  // Two run, two wait in the queue: nothing answered yet.
  CAF_CHECK_EQUAL(runner->waiting(), 2u);
  CAF_CHECK_EQUAL(replies->total(), 0u);
  send(); // the fifth finds no room
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK(test::code_of(replies->dispatch[0].status())
            == status_code::overloaded);
  CAF_CHECK(replies->dispatch[0].status().message().find("overloaded")
            != std::string::npos);
  // Finishing the running ones starts the queued ones, then all answer ok.
  runner->run_all();
  run();
  CAF_CHECK_EQUAL(runner->waiting(), 2u);
  runner->run_all();
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 5u);
  for (size_t i = 1; i < 5; ++i)
    CAF_CHECK(test::code_of(replies->dispatch[i].status()) == status_code::ok);
  CAF_CHECK_EQUAL(calls, 4);
  CAF_CHECK_EQUAL(stats().value("overloaded", -1), 1);
}

CAF_TEST(a call past its deadline is answered once and its result dropped) {
  start_echo();
  send(200);
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
  advance_time(150ms);
  run();
  CAF_CHECK_EQUAL(replies->total(), 0u);
  advance_time(100ms);
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK(test::code_of(replies->dispatch[0].status())
            == status_code::deadline_exceeded);
  CAF_CHECK(replies->dispatch[0].status().message().find("200 ms")
            != std::string::npos);
  // The handler finishes late: its result goes nowhere.
  runner->run_all();
  run();
  CAF_CHECK_EQUAL(replies->total(), 1u);
  CAF_CHECK_EQUAL(stats().value("late_results", -1), 1);
}

CAF_TEST(a hung call keeps its slot so threads stay bounded) {
  start_echo();
  send(100);
  send(100);
  send(100); // queued behind two hung calls
  advance_time(200ms);
  run();
  // All three timed out, but the two hung ones still hold their slots: the
  // queued call never started.
  CAF_CHECK_EQUAL(replies->dispatch.size(), 3u);
  CAF_CHECK_EQUAL(runner->waiting(), 2u);
  runner->run_all();
  run();
  send(); // the slots are free again
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
}

CAF_TEST(the deadline of a caller is capped by the node maximum) {
  start_echo();
  send(60000); // asks for 60 s; the executor allows 5 s
  advance_time(5001ms);
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK(test::code_of(replies->dispatch[0].status())
            == status_code::deadline_exceeded);
}

CAF_TEST(a throwing handler is handler_error without its secrets) {
  start(make_json_handler({"echo", "EchoService", "Echo"},
                          [](const call_context&, const json&) -> json {
                            throw std::runtime_error("token=abc123 expired");
                          }));
  send();
  runner->run_all();
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  const auto& s = replies->dispatch[0].status();
  CAF_CHECK(test::code_of(s) == status_code::handler_error);
  CAF_CHECK(s.message().find("node-a") != std::string::npos);
  CAF_CHECK(s.message().find("abc123") == std::string::npos);
  CAF_CHECK_EQUAL(stats().value("errors", -1), 1);
}

CAF_TEST(actor handlers receive the request and their reply passes through) {
  auto handler = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {
      [](atom::handle, const pb::ServeRequest& req) {
        return json_to_any(json{{"trace", req.trace_id()},
                                {"method", req.ref().method()}});
      },
    };
  });
  start(make_actor_handler({"echo", "EchoService", "Echo"}, handler));
  send(0, "tr");
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  auto out = any_to_json(replies->dispatch[0].payload());
  CAF_CHECK_EQUAL((*out)["trace"], "tr");
  CAF_CHECK_EQUAL((*out)["method"], "Echo");
}

CAF_TEST(an actor handler that never replies times out) {
  auto silent = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {
      [self](atom::handle, const pb::ServeRequest&) {
        self->make_response_promise(); // and never deliver
      },
    };
  });
  start(make_actor_handler({"echo", "EchoService", "Echo"}, silent));
  send(100);
  advance_time(150ms);
  run();
  CAF_REQUIRE_EQUAL(replies->dispatch.size(), 1u);
  CAF_CHECK(test::code_of(replies->dispatch[0].status())
            == status_code::deadline_exceeded);
}

CAF_TEST(drain answers once nothing is pending) {
  start_echo();
  send();
  auto h = self->request(exec, caf::infinite, atom::drain_v);
  run();
  CAF_CHECK_EQUAL(self->mailbox().size(), 0u); // still one call running
  runner->run_all();
  run();
  bool drained = false;
  h.receive([&](caf::ok_atom) { drained = true; },
            [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(drained);
  CAF_CHECK_EQUAL(replies->dispatch.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
