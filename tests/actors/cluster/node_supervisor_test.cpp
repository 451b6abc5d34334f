#define CAF_SUITE actors.node_supervisor
#include "check.hpp"

#include <stdexcept>

#include "actors/actor_slot.hpp"
#include "actors/node_supervisor.hpp"
#include "fixtures.hpp"

// The supervisor restarts a child whose handler throws, counts it, installs
// the successor in the child's slot, and gives up past the restart bound or
// for a child that cannot be restarted.

using namespace mesh;
using namespace mesh::test;

namespace {

// Answers an int with itself; throws on a negative one (the "bug").
caf::behavior thrower() {
  return {
    [](int x) -> int {
      if (x < 0)
        throw std::runtime_error("negative input");
      return x;
    },
  };
}

struct fixture : actor_fixture {
  actor_slot<caf::actor> slot;
  int spawned = 0;
  std::vector<std::string> failures;

  caf::actor make() {
    ++spawned;
    return sys.spawn(thrower);
  }

  supervisor_actor supervise(bool restartable, uint32_t max_restarts) {
    slot.set(make());
    supervisor_config cfg;
    cfg.node_id = "n1";
    supervised_child child;
    child.name = "thrower";
    child.current = [this] { return slot.get(); };
    if (restartable)
      child.restart = [this] {
        auto a = make();
        slot.set(a);
        return a;
      };
    cfg.children = {child};
    cfg.max_restarts = max_restarts;
    cfg.window = std::chrono::hours{1};
    cfg.on_failure = [this](const std::string& what) {
      failures.push_back(what);
    };
    auto sup = spawn_node_supervisor(sys, std::move(cfg));
    run();
    return sup;
  }

  nlohmann::json row(const supervisor_actor& sup) {
    auto list = ask<nlohmann::json>(caf::actor_cast<caf::actor>(sup),
                                    atom::stats_v);
    CAF_REQUIRE_EQUAL(list.size(), 1u);
    return list[0];
  }

  // A request that makes the child throw: its caller hears of it.
  void crash() {
    auto err = ask_error<int>(slot.get(), -1);
    CAF_CHECK(err != caf::none);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_supervisor_tests, fixture)

CAF_TEST(a child that throws is restarted and its slot reaches the successor) {
  auto sup = supervise(true, 3);
  auto first = slot.get();
  CAF_CHECK_EQUAL(row(sup).value("restarts", -1), 0);
  crash();
  run();
  CAF_CHECK_EQUAL(spawned, 2);
  CAF_CHECK(slot.get() != first);
  CAF_CHECK_EQUAL(ask<int>(slot.get(), 7), 7);
  auto r = row(sup);
  CAF_CHECK_EQUAL(r["restarts"], 1);
  CAF_CHECK_EQUAL(r["health"], "running");
  CAF_CHECK_EQUAL(r["last_failure"], "an exception escaped it");
  CAF_CHECK(failures.empty());
  stop({slot.get(), caf::actor_cast<caf::actor>(sup)});
}

CAF_TEST(more restarts than the bound within the window give up) {
  auto sup = supervise(true, 2);
  crash();
  run();
  crash();
  run();
  CAF_CHECK(failures.empty());
  CAF_CHECK_EQUAL(row(sup).value("restarts", -1), 2);
  crash();
  run();
  CAF_REQUIRE_EQUAL(failures.size(), 1u);
  CAF_CHECK(failures[0].find("the thrower of node n1 stopped unexpectedly")
            != std::string::npos);
  CAF_CHECK(failures[0].find("2 restarts within 3600000 ms is the limit")
            != std::string::npos);
  CAF_CHECK_EQUAL(row(sup).value("health", ""), "down");
  CAF_CHECK_EQUAL(spawned, 3);
  stop({caf::actor_cast<caf::actor>(sup)});
}

CAF_TEST(a child that cannot be restarted makes the supervisor give up) {
  auto sup = supervise(false, 5);
  crash();
  run();
  CAF_REQUIRE_EQUAL(failures.size(), 1u);
  CAF_CHECK(failures[0].find("cannot be restarted on its own")
            != std::string::npos);
  CAF_CHECK_EQUAL(spawned, 1);
  stop({caf::actor_cast<caf::actor>(sup)});
}

CAF_TEST(a child is failed on purpose by name and an unknown name is refused) {
  auto sup = supervise(true, 5);
  auto first = slot.get();
  ask<caf::ok_atom>(caf::actor_cast<caf::actor>(sup), atom::kill_v,
                    std::string{"thrower"});
  run();
  CAF_CHECK(slot.get() != first);
  CAF_CHECK_EQUAL(row(sup).value("restarts", -1), 1);
  auto err = ask_error(caf::actor_cast<caf::actor>(sup), atom::kill_v,
                       std::string{"nobody"});
  CAF_CHECK(error_text(err).find("one of thrower") != std::string::npos);
  stop({slot.get(), caf::actor_cast<caf::actor>(sup)});
}

CAF_TEST(deaths after drain are expected and not restarted) {
  auto sup = supervise(true, 5);
  ask<caf::ok_atom>(caf::actor_cast<caf::actor>(sup), atom::drain_v);
  self->send_exit(slot.get(), caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(spawned, 1);
  CAF_CHECK(failures.empty());
  stop({caf::actor_cast<caf::actor>(sup)});
}

CAF_TEST_FIXTURE_SCOPE_END()
