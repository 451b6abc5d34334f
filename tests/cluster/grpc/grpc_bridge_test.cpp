#define CAF_SUITE cluster.grpc_bridge
#include "check.hpp"

// The gRPC front door's bridge (grpc/bridge.hpp), in CAF's deterministic
// scheduler: every call it takes gets exactly one answer, from the actor it
// asked, or `unavailable` when that actor ends holding it or the bridge
// stops, or a timeout.

#include <variant>
#include <vector>

#include "fixtures.hpp"
#include "grpc/bridge.hpp"

using namespace mesh;
using namespace mesh::test;
using mesh::grpc_door::answer_fn;
using mesh::grpc_door::bridge;

namespace {

/// What a call was answered with: the int, or an error.
using answer = std::variant<int, caf::error>;

answer_fn record(std::vector<answer>& out) {
  return [&out](caf::type_erased_tuple& x) {
    if (x.match_elements<int>())
      out.emplace_back(x.get_as<int>(0));
    else if (x.match_elements<caf::error>())
      out.emplace_back(x.get_as<caf::error>(0));
    else
      out.emplace_back(caf::make_error(caf::sec::unexpected_response));
  };
}

status_code code_of(const answer& a) {
  if (auto* err = std::get_if<caf::error>(&a))
    return to_status_code(*err);
  return status_code::ok;
}

struct holder_state {
  std::vector<caf::response_promise> held;
};

/// Answers an even number at once; holds an odd one until (atom::flush).
caf::behavior holder(caf::stateful_actor<holder_state>* self) {
  return {
    [self](int x) -> caf::result<int> {
      if (x % 2 == 0)
        return x;
      self->state.held.push_back(self->make_response_promise());
      return caf::delegated<int>{};
    },
    [self](atom::flush) {
      for (auto& rp : self->state.held)
        rp.deliver(42);
      self->state.held.clear();
    },
  };
}

struct fixture : actor_fixture {
  caf::actor dest = sys.spawn(holder);

  caf::strong_actor_ptr dest_ptr() {
    return caf::actor_cast<caf::strong_actor_ptr>(dest);
  }

  ~fixture() {
    stop({dest});
  }
};

constexpr auto long_timeout = std::chrono::milliseconds{60000};

} // namespace

CAF_TEST_FIXTURE_SCOPE(grpc_bridge_tests, fixture)

CAF_TEST(an answer finishes its call once) {
  std::vector<answer> got; // outlives the bridge: its calls write here
  bridge b{sys};
  b.ask(dest_ptr(), "holder", record(got), long_timeout, false, 4);
  b.ask(dest_ptr(), "holder", record(got), long_timeout, true, 1);
  run();
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(std::get<int>(got[0]) == 4);
  self->send(dest, atom::flush_v);
  run();
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK(std::get<int>(got[1]) == 42);
  // The timer of the second call finds nothing left to answer.
  advance_time(long_timeout + std::chrono::seconds{1});
  run();
  CAF_CHECK_EQUAL(got.size(), 2u);
}

CAF_TEST(an actor that ends holding calls answers them unavailable at once) {
  std::vector<answer> got; // outlives the bridge: its calls write here
  bridge b{sys};
  b.ask(dest_ptr(), "router", record(got), long_timeout, false, 1);
  b.ask(dest_ptr(), "router", record(got), long_timeout, false, 3);
  run();
  CAF_CHECK(got.empty());
  self->send_exit(dest, caf::exit_reason::user_shutdown);
  run();
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  for (const auto& a : got)
    CAF_CHECK(code_of(a) == status_code::unavailable);
  // Asking the dead actor again: answered at once, once.
  b.ask(dest_ptr(), "router", record(got), long_timeout, false, 2);
  run();
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  CAF_CHECK(code_of(got[2]) == status_code::unavailable);
}

CAF_TEST(stop answers the calls in flight and every later call) {
  std::vector<answer> got; // outlives the bridge: its calls write here
  bridge b{sys};
  b.ask(dest_ptr(), "router", record(got), long_timeout, false, 1);
  run();
  b.stop();
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(code_of(got[0]) == status_code::unavailable);
  // The held request's late answer is dropped, not a second answer.
  self->send(dest, atom::flush_v);
  run();
  CAF_CHECK_EQUAL(got.size(), 1u);
  b.ask(dest_ptr(), "router", record(got), long_timeout, false, 2);
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK(code_of(got[1]) == status_code::unavailable);
  b.stop(); // idempotent
  CAF_CHECK_EQUAL(got.size(), 2u);
}

CAF_TEST(a missing actor is unavailable at once) {
  std::vector<answer> got; // outlives the bridge: its calls write here
  bridge b{sys};
  b.ask(nullptr, "router", record(got), long_timeout, false, 2);
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(code_of(got[0]) == status_code::unavailable);
  MESH_CHECK_MSG(error_text(std::get<caf::error>(got[0])).find("router")
                   != std::string::npos,
                 error_text(std::get<caf::error>(got[0])));
}

CAF_TEST(a call nobody answers ends at its timeout) {
  std::vector<answer> got; // outlives the bridge: its calls write here
  bridge b{sys};
  // With a timer: at the timeout, as CAF's request timeout.
  b.ask(dest_ptr(), "runner", record(got), std::chrono::milliseconds{100},
        true, 1);
  // Without: the sweep (once a second) finds it past its timeout.
  b.ask(dest_ptr(), "router", record(got), std::chrono::milliseconds{100},
        false, 3);
  run();
  CAF_CHECK(got.empty());
  advance_time(std::chrono::milliseconds{150});
  run();
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(std::get<caf::error>(got[0]) == caf::sec::request_timeout);
  advance_time(std::chrono::seconds{1});
  run();
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK(code_of(got[1]) == status_code::deadline_exceeded);
  // Their late answers are dropped.
  self->send(dest, atom::flush_v);
  run();
  CAF_CHECK_EQUAL(got.size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
