#define CAF_SUITE actors.registry
#include "fixtures.hpp"

#include "actors/handlers/handler.hpp"
#include "actors/handlers/handler_table.hpp"
#include "actors/routing/registry/registry.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

struct fixture : test::actor_fixture {
  std::shared_ptr<test::manual_runner> runner
    = std::make_shared<test::manual_runner>();
  std::shared_ptr<std::vector<handler_table_ptr>> tables
    = std::make_shared<std::vector<handler_table_ptr>>();
  caf::actor reg;

  ~fixture() {
    stop({reg});
  }

  void start(std::optional<std::vector<std::string>> namespaces = {}) {
    registry_config cfg;
    cfg.node_id = "node-a";
    cfg.namespaces = std::move(namespaces);
    cfg.runner_factory = [r = runner](size_t) { return r; };
    reg = caf::actor_cast<caf::actor>(spawn_registry(sys, cfg));
    auto subscriber = sys.spawn(
      [t = tables](caf::event_based_actor*) -> caf::behavior {
        return {[t](atom::update, handler_table_ptr& x) { t->push_back(x); }};
      });
    self->send(reg, atom::subscribe_v, subscriber);
    run();
  }

  handler_spec spec(const std::string& ns, const std::string& service,
                    const std::string& method) {
    return make_json_handler({ns, service, method},
                             [](const call_context&, const json& in) {
                               return in;
                             });
  }

  caf::error add(handler_spec s) {
    auto h = self->request(reg, caf::infinite, atom::add_v, std::move(s));
    run();
    caf::error result;
    h.receive([](caf::ok_atom) {}, [&](caf::error& e) { result = e; });
    return result;
  }

  const handler_table& latest() {
    CAF_REQUIRE(!tables->empty());
    return *tables->back();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, fixture)

CAF_TEST(a subscriber gets the table at once and after every change) {
  start();
  CAF_CHECK_EQUAL(tables->size(), 1u);
  CAF_CHECK(latest().active.empty());
  CAF_CHECK(!add(spec("users", "UserService", "GetUser")));
  CAF_CHECK_EQUAL(tables->size(), 2u);
  CAF_CHECK_GREATER(latest().version, (*tables)[0]->version);
  CAF_CHECK(latest().find({"users", "UserService", "GetUser"}) != nullptr);
  CAF_CHECK(latest().serves("users"));
}

CAF_TEST(one method name on two services is two handlers) {
  start();
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  CAF_CHECK(!add(spec("users", "AuthService", "Get")));
  CAF_CHECK_EQUAL(latest().active.size(), 2u);
  auto* a = latest().find({"users", "UserService", "Get"});
  auto* b = latest().find({"users", "AuthService", "Get"});
  CAF_REQUIRE(a != nullptr && b != nullptr);
  CAF_CHECK(a->executor != b->executor);
}

CAF_TEST(a duplicate or malformed registration is refused) {
  start();
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  auto err = add(spec("users", "UserService", "Get"));
  CAF_CHECK(to_status_code(err) == status_code::invalid_argument);
  CAF_CHECK(error_text(err).find("already registered") != std::string::npos);
  err = add(spec("users", "User Service", "Get"));
  CAF_CHECK(to_status_code(err) == status_code::invalid_argument);
  CAF_CHECK(error_text(err).find("service") != std::string::npos);
  handler_spec empty;
  empty.key = {"a", "b", "c"};
  CAF_CHECK(to_status_code(add(empty)) == status_code::invalid_argument);
}

CAF_TEST(handlers can be removed at any time) {
  start();
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  auto* route = latest().find({"users", "UserService", "Get"});
  CAF_REQUIRE(route != nullptr);
  auto executor = route->executor;
  self->monitor(executor);
  auto ok = ask<caf::ok_atom>(reg, atom::remove_v,
                              std::string{"users/UserService/Get"});
  CAF_CHECK(ok == caf::ok_atom::value);
  // Its executor is told to retire, and ends (nothing was in flight).
  run();
  bool ended = false;
  self->receive([&](caf::down_msg& dm) { ended = dm.source == executor.address(); },
                caf::after(std::chrono::seconds{0}) >> [] {});
  CAF_CHECK(ended);
  CAF_CHECK(latest().active.empty());
  CAF_CHECK(!latest().serves("users"));
  auto err = ask_error(reg, atom::remove_v, std::string{"users/UserService/Get"});
  CAF_CHECK(to_status_code(err) == status_code::not_found);
  CAF_CHECK(!add(spec("users", "UserService", "Get"))); // and re-added
}

CAF_TEST(declared namespaces leave other handlers registered but inactive) {
  start(std::vector<std::string>{"orders"});
  CAF_CHECK(!add(spec("orders", "OrderService", "Create")));
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  CAF_CHECK_EQUAL(latest().active.size(), 1u);
  CAF_CHECK(latest().serves("orders"));
  CAF_CHECK(!latest().serves("users"));
  auto list = ask<json>(reg, atom::handlers_v);
  CAF_REQUIRE_EQUAL(list.size(), 2u);
  for (const auto& h : list)
    CAF_CHECK_EQUAL(h["active"], h["namespace"] == "orders");
  // Adding the namespace at run time activates the handler.
  ask<caf::ok_atom>(reg, atom::namespaces_v, atom::add_v, std::string{"users"});
  CAF_CHECK_EQUAL(latest().active.size(), 2u);
  ask<caf::ok_atom>(reg, atom::namespaces_v, atom::remove_v,
                    std::string{"orders"});
  CAF_CHECK_EQUAL(latest().active.size(), 1u);
  auto err = ask_error(reg, atom::namespaces_v, atom::remove_v,
                       std::string{"nope"});
  CAF_CHECK(to_status_code(err) == status_code::not_found);
}

CAF_TEST(the validator can be swapped at run time) {
  start();
  std::string error;
  registry_validator_ptr v = allow_list_validator::make({"a/*/*"}, error);
  ask<caf::ok_atom>(reg, atom::validator_v, v);
  CAF_CHECK(latest().validator == v);
  ask<caf::ok_atom>(reg, atom::validator_v, registry_validator_ptr{});
  CAF_CHECK(latest().validator == nullptr);
  auto summary = ask<json>(reg, atom::stats_v);
  CAF_CHECK_EQUAL(summary["validator"], "none");
}

CAF_TEST(handlers lists each handler with its executor stats) {
  start();
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  auto list = ask<json>(reg, atom::handlers_v);
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  CAF_CHECK_EQUAL(list[0]["handler"], "users/UserService/Get");
  CAF_CHECK_EQUAL(list[0]["kind"], "json");
  CAF_CHECK_EQUAL(list[0]["stats"]["calls"], 0);
}

CAF_TEST(an executor that dies is restarted and the handler keeps serving) {
  start();
  CAF_CHECK(!add(spec("users", "UserService", "Get")));
  auto first = latest().find({"users", "UserService", "Get"})->executor;
  self->send_exit(first, caf::exit_reason::unhandled_exception);
  run();
  auto* route = latest().find({"users", "UserService", "Get"});
  CAF_REQUIRE(route != nullptr);
  CAF_CHECK(route->executor != first);
  // A handler whose executor keeps dying is removed after five restarts.
  for (int i = 0; i < 5; ++i) {
    auto* r = latest().find({"users", "UserService", "Get"});
    CAF_REQUIRE(r != nullptr);
    self->send_exit(r->executor, caf::exit_reason::unhandled_exception);
    run();
  }
  CAF_CHECK(latest().find({"users", "UserService", "Get"}) == nullptr);
}

CAF_TEST_FIXTURE_SCOPE_END()
