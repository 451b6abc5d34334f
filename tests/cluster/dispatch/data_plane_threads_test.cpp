#define CAF_SUITE cluster.data_plane_threads
#include "check.hpp"

// Which thread runs the actor a data-plane frame is for (issue 16): the
// router and the ingresses, when idle, run in the plane's own thread
// (actors/inline_unit.hpp) instead of waking a CAF worker, and so does a
// caller of the router declared non-blocking; any other actor goes to
// CAF's workers, since a job that waits on the plane's one thread would
// stall every link. Real planes on 127.0.0.1, CAF's real scheduler.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/actor_names.hpp"
#include "actors/cluster/data/data_messages.hpp"
#include "actors/cluster/data/data_plane_glue.hpp"
#include "actors/cluster/data/non_blocking_callers.hpp"
#include "actors/handlers/stall_counter.hpp"
#include "actors/inline_unit.hpp"
#include "actor_idle.hpp"
#include "process.hpp"

using namespace mesh;
using mesh::test::await_condition;
using mesh::test::idle;
using namespace std::chrono_literals;

namespace {

/// Where an actor ran its last frame: 1 in an inline unit (a plane's
/// thread), 2 in one of CAF's workers; and how often it ran on a plane.
struct sighting {
  std::atomic<int> where{0};
  std::atomic<int> on_plane{0}; ///< frames run in an inline unit

  void note(caf::scheduled_actor* self) {
    bool plane = dynamic_cast<inline_unit*>(self->context()) != nullptr;
    where = plane ? 1 : 2;
    on_plane += plane ? 1 : 0;
  }
};

/// Stands in for the router or a peer's ingress under `name`: notes where
/// it ran; an ingress answers each batch with one reply on its link.
class stand_in : public caf::event_based_actor {
public:
  /// As the router, it hands each answer to `caller` (when not null).
  stand_in(caf::actor_config& cfg, const char* name, sighting* seen,
           caf::actor caller = {})
    : caf::event_based_actor(cfg),
      name_(name),
      seen_(seen),
      caller_(std::move(caller)) {
  }

  const char* name() const override {
    return name_;
  }

  caf::behavior make_behavior() override {
    return {
      [this](data_batch& msg) {
        seen_->note(this);
        pb::ServeReplies replies;
        replies.add_tags(msg.batch.tags(0));
        replies.add_responses()->set_trace_id(msg.batch.requests(0).trace_id());
        auto body = replies.SerializeAsString();
        msg.link->send(frame_kind::reply, body.size(), [&](uint8_t* p) {
          std::copy(body.begin(), body.end(), p);
        });
      },
      [this](data_replies&) {
        seen_->note(this);
        if (caller_)
          send(caller_, 1);
      },
      [](data_link_down&) {},
    };
  }

private:
  const char* name_;
  sighting* seen_;
  caf::actor caller_;
};

/// A caller of the router: notes where it ran when handed an answer.
caf::behavior caller(caf::event_based_actor* self, sighting* seen) {
  return {[self, seen](int) { seen->note(self); }};
}

/// The same, then sleeps 150 ms: a caller that blocks.
caf::behavior sleeper(caf::event_based_actor* self, sighting* seen) {
  return {[self, seen](int) {
    seen->note(self);
    std::this_thread::sleep_for(150ms);
  }};
}

/// The same, then throws: a caller with a bug.
caf::behavior thrower(caf::event_based_actor* self, sighting* seen) {
  return {[self, seen](int) {
    seen->note(self);
    throw std::runtime_error("a caller failed on an answer");
  }};
}

struct config : caf::actor_system_config {
  config() {
    set("scheduler.max-threads", 2);
  }
};

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  data_plane a{data_plane_config{}};
  data_plane b{data_plane_config{}};
  sighting at_router, at_ingress, at_caller;

  /// node-a's plane hands replies to an actor named `router_name`, and
  /// node-b's hands node-a's batches to one named `ingress_name`; sends
  /// one batch from node-a and waits until both actors saw their frame
  /// (and `caller`, when given, the answer the router hands it), `trips`
  /// times over the same link (the caller is awaited on the first only,
  /// or on every trip with `caller_each_trip`).
  void round_trip(const char* router_name, const char* ingress_name,
                  caf::actor caller = {}, int trips = 1,
                  bool caller_each_trip = false) {
    bool with_caller = static_cast<bool>(caller);
    auto router = sys.spawn<stand_in>(router_name, &at_router,
                                      std::move(caller));
    auto ingress = sys.spawn<stand_in>(ingress_name, &at_ingress);
    CAF_REQUIRE(idle(router) && idle(ingress));
    CAF_REQUIRE(start_data_plane(
                  a, actor_slot<router_actor>{
                       caf::actor_cast<router_actor>(router)})
                  .empty());
    CAF_REQUIRE(b.start({}).empty());
    auto token = offer_data_link(b, caf::actor_cast<peer_ingress_actor>(
                                      ingress));
    dial_data_link(a, "node-b", "inc-1", "127.0.0.1", b.port(), token);
    CAF_REQUIRE(await_condition(
      [this] { return a.link_to("node-b") != nullptr; }, 10s));
    pb::ServeBatch batch;
    batch.add_tags(1);
    batch.add_requests()->set_trace_id("t1");
    auto body = batch.SerializeAsString();
    for (int trip = 0; trip < trips; ++trip) {
      at_router.where = 0;
      at_ingress.where = 0;
      if (caller_each_trip)
        at_caller.where = 0;
      CAF_REQUIRE(a.link_to("node-b")->send(
        frame_kind::request, body.size(),
        [&](uint8_t* p) { std::copy(body.begin(), body.end(), p); }));
      CAF_REQUIRE(await_condition(
        [&] {
          return at_router.where != 0 && at_ingress.where != 0
                 && (!with_caller || (trip > 0 && !caller_each_trip)
                     || at_caller.where != 0);
        },
        10s));
    }
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ingress, caf::exit_reason::user_shutdown);
  }

  ~fixture() {
    a.stop();
    b.stop();
    sys.await_all_actors_done();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(data_plane_threads_tests, fixture)

CAF_TEST(the router and a peer ingress run in the thread of the plane) {
  round_trip(actor_names::request_router, actor_names::peer_ingress);
  CAF_CHECK_EQUAL(at_ingress.where.load(), 1);
  CAF_CHECK_EQUAL(at_router.where.load(), 1);
}

CAF_TEST(the ingress of clients may run there too) {
  // The router, running there, hands answers to it.
  round_trip(actor_names::client_ingress, actor_names::peer_ingress);
  CAF_CHECK_EQUAL(at_router.where.load(), 1);
}

CAF_TEST(any other actor a frame is for runs on the workers of CAF) {
  round_trip("mesh.handler_executor", "user.scheduled-actor");
  CAF_CHECK_EQUAL(at_ingress.where.load(), 2);
  CAF_CHECK_EQUAL(at_router.where.load(), 2);
}

CAF_TEST(a caller declared non blocking runs there after the router) {
  auto c = sys.spawn(caller, &at_caller);
  CAF_REQUIRE(idle(c));
  CAF_REQUIRE(declare_non_blocking_caller(c));
  round_trip(actor_names::request_router, actor_names::peer_ingress, c);
  CAF_CHECK_EQUAL(at_router.where.load(), 1);
  CAF_CHECK_EQUAL(at_caller.where.load(), 1);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

CAF_TEST(a caller not declared runs on the workers of CAF) {
  auto c = sys.spawn(caller, &at_caller);
  CAF_REQUIRE(idle(c));
  round_trip(actor_names::request_router, actor_names::peer_ingress, c);
  CAF_CHECK_EQUAL(at_router.where.load(), 1);
  CAF_CHECK_EQUAL(at_caller.where.load(), 2);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

CAF_TEST(a declared caller that throws there ends and the plane goes on) {
  auto c = sys.spawn(thrower, &at_caller);
  CAF_REQUIRE(idle(c));
  CAF_REQUIRE(declare_non_blocking_caller(c));
  // The second trip: the plane still reads the link and hands answers over.
  round_trip(actor_names::request_router, actor_names::peer_ingress, c, 2);
  CAF_CHECK_EQUAL(at_caller.where.load(), 1);
  CAF_CHECK_EQUAL(at_router.where.load(), 1);
  // The caller ended (CAF caught the exception), and its slot with it.
  CAF_CHECK(await_condition([] { return non_blocking_callers() == 0; }, 10s));
}

CAF_TEST(a declared caller that blocks there is counted and sent away) {
  auto c = sys.spawn(sleeper, &at_caller);
  CAF_REQUIRE(idle(c));
  CAF_REQUIRE(declare_non_blocking_caller(c));
  auto before = data_plane_stalls();
  // The first two answers run it on the plane's thread, where it blocks;
  // the second stall ends its declaration, so the third runs it on a
  // worker (one stall alone may be the host's pause).
  round_trip(actor_names::request_router, actor_names::peer_ingress, c, 3,
             true);
  CAF_CHECK_EQUAL(at_caller.on_plane.load(), 2);
  CAF_CHECK_EQUAL(at_caller.where.load(), 2);
  CAF_CHECK(data_plane_stalls() >= before + 2);
  CAF_CHECK_EQUAL(non_blocking_callers(), 0u);
  CAF_CHECK(!declare_non_blocking_caller(c)); // for good
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

CAF_TEST(stalls of a declared caller far apart do not revoke it) {
  auto c = sys.spawn(caller, &at_caller);
  CAF_REQUIRE(declare_non_blocking_caller(c));
  auto* job = dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(c));
  CAF_REQUIRE(job != nullptr);
  auto t0 = std::chrono::steady_clock::now();
  // Pauses of a busy host, a minute or more apart: each counts as a first.
  CAF_CHECK(!non_blocking_caller_stalled(job, t0));
  CAF_CHECK(!non_blocking_caller_stalled(job, t0 + stall_window));
  CAF_CHECK(!non_blocking_caller_stalled(job, t0 + 3 * stall_window));
  CAF_CHECK(is_non_blocking_caller(job));
  // Two within a minute: it blocks.
  CAF_CHECK(non_blocking_caller_stalled(job, t0 + 3 * stall_window + 59s));
  CAF_CHECK(!is_non_blocking_caller(job));
  CAF_CHECK(!declare_non_blocking_caller(c));
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

CAF_TEST(a declaration lasts as long as its actor and 64 are held at most) {
  // Declarations are the process's: none left from the cases before.
  CAF_REQUIRE(await_condition([] { return non_blocking_callers() == 0; }, 10s));
  CAF_CHECK(!declare_non_blocking_caller(caf::actor{}));
  std::vector<caf::actor> held;
  for (size_t i = 0; i < max_non_blocking_callers; ++i) {
    held.push_back(sys.spawn(caller, &at_caller));
    CAF_REQUIRE(declare_non_blocking_caller(held.back()));
  }
  CAF_CHECK(declare_non_blocking_caller(held.front())); // again: no error
  CAF_CHECK_EQUAL(non_blocking_callers(), max_non_blocking_callers);
  auto one_more = sys.spawn(caller, &at_caller);
  CAF_CHECK(!declare_non_blocking_caller(one_more));
  auto* job = dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(one_more));
  CAF_REQUIRE(job != nullptr);
  CAF_CHECK(!is_non_blocking_caller(job));
  for (auto& a : held)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  // Each slot is freed when its actor ends.
  CAF_CHECK(await_condition([] { return non_blocking_callers() == 0; }, 10s));
  CAF_CHECK(declare_non_blocking_caller(one_more));
  CAF_CHECK(is_non_blocking_caller(job));
  caf::anon_send_exit(one_more, caf::exit_reason::user_shutdown);
  CAF_CHECK(await_condition([] { return non_blocking_callers() == 0; }, 10s));
  // An actor that has ended already takes no slot for long.
  CAF_CHECK(declare_non_blocking_caller(one_more));
  CAF_CHECK(await_condition([] { return non_blocking_callers() == 0; }, 10s));
}

CAF_TEST_FIXTURE_SCOPE_END()
