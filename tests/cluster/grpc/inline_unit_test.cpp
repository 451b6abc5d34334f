#define CAF_SUITE cluster.grpc_inline_unit
#include "check.hpp"

// actors/inline_unit.hpp with CAF's real scheduler and threads: an idle
// actor that a foreign thread (gRPC's, here the test's) wakes runs in that
// thread at once; one with more to do than max-throughput, or one the
// unit's filter refuses, goes back to CAF's workers (once the thread's run
// is done); one woken by it runs in the thread after it. And the gRPC
// bridge's filter.

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include "actors/actor_names.hpp"
#include "grpc/bridge.hpp"
#include "actors/inline_unit.hpp"
#include "actor_idle.hpp"
#include "process.hpp"

using mesh::inline_unit;
using mesh::test::await_condition;
using mesh::test::idle;

namespace {

constexpr size_t throughput = 10;

struct config : caf::actor_system_config {
  config() {
    set("scheduler.max-threads", 2);
    set("scheduler.max-throughput", throughput);
  }
};

/// What the actors saw: who handled what, in which thread.
struct journal {
  std::mutex mtx;
  std::vector<std::string> events;
  std::vector<std::thread::id> threads;
  std::atomic<size_t> count{0};

  void add(std::string what) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(std::move(what));
    threads.push_back(std::this_thread::get_id());
    ++count;
  }

  size_t in_thread(std::thread::id id) {
    std::lock_guard<std::mutex> guard{mtx};
    return static_cast<size_t>(
      std::count(threads.begin(), threads.end(), id));
  }
};

/// (int n): notes "x", sends itself n - 1 more (int 0) messages and, when
/// it has a peer, an (std::string) to it.
caf::behavior noter(caf::event_based_actor* self, journal* j, caf::actor peer) {
  return {
    [=](int n) {
      for (int i = 1; i < n; ++i)
        self->send(self, 0);
      if (peer)
        self->send(peer, std::string{"b"});
      j->add("a");
    },
    [=](const std::string& what) { j->add(what); },
  };
}

/// An idle actor with the name it is given.
class named_actor : public caf::event_based_actor {
public:
  named_actor(caf::actor_config& cfg, const char* name)
    : caf::event_based_actor(cfg), name_(name) {
  }

  const char* name() const override {
    return name_;
  }

  caf::behavior make_behavior() override {
    return {[](int) {}};
  }

private:
  const char* name_;
};

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  journal j;

  // As the gRPC bridge delivers: from this thread, through its unit.
  void deliver(const caf::actor& dest, caf::message msg,
               inline_unit::filter admit = nullptr) {
    caf::actor_cast<caf::abstract_actor*>(dest)->enqueue(
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                std::move(msg)),
      inline_unit::here(sys, admit));
  }

  ~fixture() {
    sys.await_all_actors_done();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(inline_unit_tests, fixture)

CAF_TEST(an idle actor runs in the thread that wakes it) {
  auto a = sys.spawn(noter, &j, caf::actor{});
  CAF_REQUIRE(idle(a));
  deliver(a, caf::make_message(1));
  // Done before deliver returned, in this thread.
  CAF_CHECK_EQUAL(j.count.load(), 1u);
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), 1u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(an actor with more than max-throughput to do goes back to the workers) {
  auto a = sys.spawn(noter, &j, caf::actor{});
  CAF_REQUIRE(idle(a));
  deliver(a, caf::make_message(25)); // itself and 24 more
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), throughput);
  CAF_REQUIRE(await_condition([this] { return j.count.load() == 25; },
                              std::chrono::seconds{10}));
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), throughput);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(an actor woken by the one running here runs here after it) {
  auto b = sys.spawn(noter, &j, caf::actor{});
  auto a = sys.spawn(noter, &j, b);
  CAF_REQUIRE(idle(a));
  CAF_REQUIRE(idle(b));
  deliver(a, caf::make_message(1));
  CAF_CHECK_EQUAL(j.count.load(), 2u);
  CAF_CHECK_EQUAL(j.events, std::vector<std::string>({"a", "b"}));
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), 2u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

CAF_TEST(an actor the filter refuses is handed to the workers) {
  auto a = sys.spawn(noter, &j, caf::actor{});
  CAF_REQUIRE(idle(a));
  auto refuse_all = [](caf::resumable*) { return false; };
  deliver(a, caf::make_message(1), refuse_all);
  CAF_REQUIRE(await_condition([this] { return j.count.load() == 1; },
                              std::chrono::seconds{10}));
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST(actors the filter refuses wait until the jobs running here are done) {
  // A (admitted) wakes B (refused), then gives B's worker time to run it
  // before A notes "a". Handed over at once, B would note "b" first.
  static std::atomic<caf::resumable*> admitted{nullptr};
  auto only_admitted = [](caf::resumable* job) { return job == admitted; };
  auto b = sys.spawn(noter, &j, caf::actor{});
  auto a = sys.spawn([this, b](caf::event_based_actor* self) -> caf::behavior {
    return {[this, self, b](int) {
      self->send(b, std::string{"b"});
      await_condition([this] { return j.count.load() > 0; },
                      std::chrono::milliseconds{300});
      j.add("a");
    }};
  });
  admitted = dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(a));
  CAF_REQUIRE(idle(a));
  CAF_REQUIRE(idle(b));
  deliver(a, caf::make_message(1), only_admitted);
  CAF_REQUIRE(await_condition([this] { return j.count.load() == 2; },
                              std::chrono::seconds{10}));
  CAF_CHECK_EQUAL(j.events, std::vector<std::string>({"a", "b"}));
  CAF_CHECK_EQUAL(j.in_thread(std::this_thread::get_id()), 1u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

CAF_TEST(the gRPC threads keep off the actors that wait on a disk) {
  auto named = [this](const char* name) {
    auto a = sys.spawn<named_actor>(name);
    auto* job = dynamic_cast<caf::resumable*>(
      caf::actor_cast<caf::abstract_actor*>(a));
    CAF_REQUIRE(job != nullptr);
    bool admitted = mesh::grpc_door::runs_in_grpc_thread(job);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return admitted;
  };
  CAF_CHECK(!named(mesh::actor_names::task_dispatcher));
  CAF_CHECK(!named(mesh::actor_names::workflow_runner));
  CAF_CHECK(named("mesh.request_router"));
  CAF_CHECK(named("user.scheduled-actor"));
}

CAF_TEST(a job that is no actor has no name and stays off the gRPC threads) {
  struct task final : caf::resumable {
    subtype_t subtype() const override {
      return function_object;
    }
    resume_result resume(caf::execution_unit*, size_t) override {
      return done;
    }
    void intrusive_ptr_add_ref_impl() override {
    }
    void intrusive_ptr_release_impl() override {
    }
  } job;
  CAF_CHECK(mesh::actor_name(&job) == nullptr);
  CAF_CHECK(!mesh::grpc_door::runs_in_grpc_thread(&job));
  auto a = sys.spawn<named_actor>("user.named");
  auto* actor = dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(a));
  CAF_REQUIRE(actor != nullptr);
  const char* name = mesh::actor_name(actor);
  CAF_REQUIRE(name != nullptr);
  CAF_CHECK_EQUAL(std::string{name}, "user.named");
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
