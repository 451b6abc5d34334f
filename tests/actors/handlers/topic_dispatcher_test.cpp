#define CAF_SUITE actors.topic_dispatcher
#include "check.hpp"
#include "fixtures.hpp"

#include <stdexcept>

#include "topic_fixture.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

using fixture = test::topic_fixture;
using test::count_status;

} // namespace

CAF_TEST_FIXTURE_SCOPE(topic_dispatcher_tests, fixture)

CAF_TEST(fan out runs every matching dispatcher once) {
  add_counter("audit");
  add_counter("notify");
  add_counter("unrelated");
  add_route("r1", "orders.>", "audit");
  add_route("r2", "orders.*.created", "audit"); // audit matches twice
  add_route("r3", "orders.*.created", "notify");
  add_route("r4", "payments.>", "unrelated");
  auto r = publish("orders.eu.created");
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(r.dispatchers_size(), 2);
  CAF_CHECK_EQUAL(runs["audit"], 1);
  CAF_CHECK_EQUAL(runs["notify"], 1);
  CAF_CHECK_EQUAL(runs["unrelated"], 0);
  CAF_CHECK(!r.dispatch_id().empty());
  CAF_CHECK(!r.trace_id().empty());
}

CAF_TEST(a failing dispatcher does not stop the others and leaks no secret) {
  add_counter("good");
  ask<caf::ok_atom>(topics, atom::dispatcher_v,
                    make_function_dispatcher(
                      "bad", message_category::event,
                      [](const topic_message&) -> std::vector<std::string> {
                        throw std::runtime_error(
                          "cannot log in with password=hunter2 to the db");
                      }));
  add_route("g", "orders.>", "good");
  add_route("b", "orders.>", "bad");
  auto r = publish("orders.eu.created");
  CAF_CHECK_EQUAL(r.status(), "dispatcher_error");
  CAF_CHECK_EQUAL(runs["good"], 1);
  CAF_CHECK_EQUAL(count_status(r, "success"), 1u);
  CAF_CHECK(r.error_message().find("bad") != std::string::npos);
  CAF_CHECK(r.error_message().find("hunter2") == std::string::npos);
  for (const auto& d : r.dispatchers())
    CAF_CHECK(d.error().find("hunter2") == std::string::npos);
  auto metrics = ask<json>(topics, atom::metrics_v);
  for (const auto& d : metrics["dispatchers"])
    if (d["dispatcher_id"] == "bad") {
      CAF_CHECK_EQUAL(d.value("errors", 0), 1);
      CAF_CHECK_EQUAL(d.value("error_rate", 0.0), 1.0);
    }
}

CAF_TEST(a slow dispatcher times out without delaying the others) {
  add_counter("fast");
  add_counter("slow");
  add_route("f", "orders.>", "fast");
  add_route("s", "orders.>", "slow");
  pb::PublishRequest req;
  req.set_topic("orders.1");
  req.set_category("event");
  auto handle = self->request(topics, caf::infinite, std::move(req));
  run();
  CAF_REQUIRE_EQUAL(runner->waiting(), 2u);
  runner->run_one(); // "fast" answers; "slow" hangs
  run();
  advance_time(std::chrono::milliseconds{500});
  run();
  pb::PublishResponse r;
  handle.receive([&](pb::PublishResponse& x) { r = std::move(x); },
                 [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK_EQUAL(r.status(), "timeout");
  CAF_CHECK_EQUAL(count_status(r, "success"), 1u);
  CAF_CHECK_EQUAL(count_status(r, "timeout"), 1u);
  // A job still waiting at its part's deadline does not run at all (a
  // stuck pool must not pile up work), and nothing late reaches the result.
  runner->run_all();
  run();
  CAF_CHECK_EQUAL(runs["slow"], 0);
  CAF_CHECK_EQUAL(runs["fast"], 1);
  auto metrics = ask<json>(topics, atom::metrics_v);
  for (const auto& d : metrics["dispatchers"])
    if (d["dispatcher_id"] == "slow") {
      CAF_CHECK_EQUAL(d.value("timeouts", 0), 1);
      CAF_CHECK_EQUAL(d.value("executions", 0), 1);
    }
}

CAF_TEST(category type and disabled routes decide what runs) {
  add_counter("typed", {}, {"OrderCreated"});
  add_counter("off");
  add_route("t", "orders.>", "typed");
  add_route("o", "orders.>", "off", "", false);
  CAF_CHECK_EQUAL(status_of("orders.1", "OrderCreated"), "success");
  CAF_CHECK_EQUAL(status_of("orders.1", "OrderPaid"), "no_dispatcher");
  CAF_CHECK_EQUAL(status_of("orders.1", "OrderCreated", "command"),
                  "no_dispatcher");
  CAF_CHECK_EQUAL(runs["typed"], 1);
  CAF_CHECK_EQUAL(runs["off"], 0);
  ask<caf::ok_atom>(topics, atom::route_v, std::string{"o"}, true);
  publish("orders.1", "OrderPaid");
  CAF_CHECK_EQUAL(runs["off"], 1);
}

CAF_TEST(invalid messages are refused before anything runs) {
  add_counter("audit");
  add_route("a", ">", "audit");
  for (const char* bad : {"orders.*", "orders.>", "a..b", "$SYS.x", ""})
    CAF_CHECK_EQUAL(status_of(bad), "invalid_message");
  CAF_CHECK_EQUAL(status_of("orders.1", "", "gossip"), "invalid_message");
  CAF_CHECK_EQUAL(runs["audit"], 0);
}

CAF_TEST(outputs are published in turn up to the depth limit) {
  add_counter("first", {"step.two"});
  add_counter("second", {"step.three", "step.unheard"});
  add_counter("loop", {"loop.again"});
  add_route("1", "step.one", "first");
  add_route("2", "step.two", "second");
  add_route("l", "loop.>", "loop");
  auto r = publish("step.one");
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(runs["second"], 1);
  CAF_CHECK_EQUAL(r.output_count(), 3u);
  CAF_CHECK_EQUAL(r.outputs(0), "step.two");
  // A cycle stops at the bound (3 output levels), and says so.
  auto cycle = publish("loop.start");
  CAF_CHECK_EQUAL(runs["loop"], 4);
  CAF_CHECK_EQUAL(count_status(cycle, "skipped"), 1u);
  CAF_CHECK(cycle.error_message().find("depth limit") != std::string::npos);
}

CAF_TEST(a publish follows at most max_outputs_per_publish output topics) {
  std::vector<std::string> many;
  for (size_t i = 0; i < 3 * max_outputs_per_publish; ++i)
    many.push_back("fan.out." + std::to_string(i));
  add_counter("wide", many);
  add_counter("leaf");
  add_route("w", "fan.in", "wide");
  add_route("f", "fan.out.>", "leaf");
  auto r = publish("fan.in");
  // Published one after the other (no recursion per output), up to the cap.
  CAF_CHECK_EQUAL(runs["leaf"], static_cast<int>(max_outputs_per_publish));
  CAF_CHECK_EQUAL(r.output_count(), max_outputs_per_publish);
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(count_status(r, "skipped"), 1u);
  CAF_CHECK(r.error_message().find("192 output topics, more than the limit "
                                   "of 64 per publish; not published: "
                                   "'fan.out.64' and the 127 after it")
            != std::string::npos);
  // Outputs nobody listens to finish at once: the loop walks them in place.
  std::vector<std::string> unheard;
  for (size_t i = 0; i < 3 * max_outputs_per_publish; ++i)
    unheard.push_back("nobody." + std::to_string(i));
  add_counter("quiet", unheard);
  add_route("q", "quiet.in", "quiet");
  auto q = publish("quiet.in");
  CAF_CHECK_EQUAL(q.status(), "success");
  CAF_CHECK_EQUAL(q.output_count(), max_outputs_per_publish);
  CAF_CHECK_EQUAL(count_status(q, "skipped"), 1u);
}

CAF_TEST(malformed trace and dispatch ids are refused and replaced) {
  add_counter("audit");
  add_route("a", ">", "audit");
  auto bad_trace = message("orders.1");
  bad_trace.set_trace_id("caf\xc3\xa9");
  auto r = publish(bad_trace);
  CAF_CHECK_EQUAL(r.status(), "invalid_message");
  CAF_CHECK(r.error_message().find("trace_id may hold only")
            != std::string::npos);
  CAF_CHECK_EQUAL(r.trace_id().size(), 32u); // made anew, not echoed
  auto bad_dispatch = message("orders.1");
  bad_dispatch.set_dispatch_id("id\r\nforged");
  auto d = publish(bad_dispatch);
  CAF_CHECK_EQUAL(d.status(), "invalid_message");
  CAF_CHECK(d.error_message().find("dispatch_id may hold only")
            != std::string::npos);
  CAF_CHECK_EQUAL(d.dispatch_id().size(), 32u);
  CAF_CHECK_EQUAL(runs["audit"], 0);
}

CAF_TEST(a frozen table refuses registration) {
  add_counter("audit");
  add_route("a", "orders.>", "audit");
  ask<caf::ok_atom>(topics, atom::freeze_v);
  auto err = ask_error(topics, atom::route_v,
                       topic_route{"b", "x", message_category::event, "audit",
                                   "", true});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::permission_denied);
  CAF_CHECK(error_text(err).find("frozen") != std::string::npos);
  CAF_CHECK_EQUAL(status_of("orders.1"), "success");
  auto routes = ask<json>(topics, atom::routes_v);
  CAF_CHECK_EQUAL(routes.value("frozen", false), true);
}

CAF_TEST(actor dispatchers answer with output topics or errors) {
  auto seen = std::make_shared<std::vector<std::string>>();
  auto actor = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {
      [seen](atom::publish, const pb::PublishRequest& req)
        -> caf::result<json> {
        seen->push_back(req.topic());
        if (req.topic() == "orders.fail")
          return make_error(status_code::internal, "token=abc123 expired");
        return caf::expected<json>(json::array({"audit.done"}));
      },
    };
  });
  ask<caf::ok_atom>(topics, atom::dispatcher_v,
                    make_actor_dispatcher("auditor", message_category::event,
                                          actor));
  add_counter("after");
  add_route("a", "orders.*", "auditor");
  add_route("d", "audit.done", "after");
  auto r = publish("orders.1");
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(r.output_count(), 1u);
  CAF_CHECK_EQUAL(runs["after"], 1);
  auto failed = publish("orders.fail");
  CAF_CHECK_EQUAL(failed.status(), "dispatcher_error");
  CAF_CHECK(failed.error_message().find("abc123") == std::string::npos);
  CAF_CHECK_EQUAL(seen->size(), 2u);
  stop({actor});
}

CAF_TEST(a drain waits for running publishes and refuses new ones) {
  add_counter("audit");
  add_route("a", "orders.>", "audit");
  pb::PublishRequest req;
  req.set_topic("orders.1");
  req.set_category("event");
  auto running = self->request(topics, caf::infinite, req);
  run();
  auto drain = self->request(topics, caf::infinite, atom::drain_v);
  run();

  // While draining, new publishes are refused.
  CAF_CHECK_EQUAL(status_of("orders.2"), "publish_failed");
  runner->run_all();
  run();
  running.receive(
    [&](pb::PublishResponse& r) { CAF_CHECK_EQUAL(r.status(), "success"); },
    [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  bool drained = false;
  drain.receive([&](caf::ok_atom) { drained = true; },
                [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(drained);
  CAF_CHECK_EQUAL(runs["audit"], 1);
}

CAF_TEST(record dispatchers keep the last messages) {
  dispatcher_spec spec;
  spec.info = {"recent", message_category::event, {}, "record"};
  spec.keep = 2;
  ask<caf::ok_atom>(topics, atom::dispatcher_v, spec);
  add_route("r", "orders.>", "recent");
  for (const char* t : {"orders.1", "orders.2", "orders.3"})
    publish(t);
  auto kept = ask<json>(topics, atom::records_v, std::string{"recent"});
  CAF_REQUIRE_EQUAL(kept.size(), 2u);
  CAF_CHECK_EQUAL(kept[1].value("topic", ""), "orders.3");
  auto missing = ask_error<json>(topics, atom::records_v, std::string{"nope"});
  CAF_CHECK_EQUAL(to_status_code(missing), status_code::not_found);
}

CAF_TEST(outside the sample only publishes that ask are traced) {
  traces->set_sample(0.0);
  add_counter("audit");
  add_route("r", "orders.>", "audit");
  auto plain = message("orders.1");
  plain.set_trace_id("plain");
  auto r = publish(plain);
  CAF_CHECK_EQUAL(r.status(), "success");
  CAF_CHECK_EQUAL(traces->size(), 0u);
  auto asked = message("orders.2");
  asked.set_trace_id("asked");
  asked.set_trace(true);
  r = publish(asked);
  CAF_CHECK_EQUAL(r.status(), "success");
  std::vector<std::string> steps;
  for (const auto& rec : traces->find("asked"))
    steps.push_back(rec.step);
  CAF_CHECK_EQUAL(steps, (std::vector<std::string>{"fanout", "publish"}));
  traces->set_sample(1.0); // everything is in the sample
  plain.set_trace_id("sampled");
  publish(plain);
  CAF_CHECK_EQUAL(traces->find("sampled").size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
