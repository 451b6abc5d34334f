#define CAF_SUITE cluster.scheduler_policy
#include "check.hpp"

// The scheduler a node runs (node/net/prompt_sharing.hpp): with
// `scheduler.policy` "sharing" (the default) it is Mesh's work-sharing
// policy, which wakes a worker after the queue's lock is released and runs
// an actor a worker's job wakes next on that worker (its slot); with
// "stealing" it is CAF's own. Real threads: jobs enqueued from workers and
// from threads CAF does not own all run, and every request is answered.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sched.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "node/net/caf_settings.hpp"
#include "node/net/prompt_sharing.hpp"
#include "pinned_here.hpp"
#include "process.hpp"

using mesh::test::await_condition;

namespace {

using prompt_coordinator = caf::scheduler::coordinator<mesh::prompt_sharing>;

bool runs_prompt_sharing(caf::actor_system& sys) {
  return dynamic_cast<prompt_coordinator*>(&sys.scheduler()) != nullptr;
}

mesh::node_config with_policy(const char* policy, size_t threads = 2) {
  mesh::node_config cfg;
  cfg.scheduler.policy = policy;
  cfg.scheduler.max_threads = threads;
  return cfg;
}

// (int n): answers n + 1.
caf::behavior incrementer() {
  return {[](int n) { return n + 1; }};
}

// (caf::actor next): where to pass on. (int n): counts, and passes n - 1
// on while n > 0.
caf::behavior relay(caf::event_based_actor* self, std::atomic<int>* seen) {
  auto next = std::make_shared<caf::actor>();
  return {
    [next](caf::actor& a) { *next = std::move(a); },
    [self, seen, next](int n) {
      ++*seen;
      if (n > 0)
        self->send(*next, n - 1);
    },
  };
}

} // namespace

CAF_TEST(the default policy is the prompt work sharing) {
  auto cfg = mesh::make_caf_config(mesh::node_config{});
  caf::actor_system sys{*cfg};
  CAF_CHECK(runs_prompt_sharing(sys));
}

CAF_TEST(stealing keeps the scheduler of CAF) {
  auto cfg = mesh::make_caf_config(with_policy("stealing"));
  caf::actor_system sys{*cfg};
  CAF_CHECK(!runs_prompt_sharing(sys));
}

CAF_TEST(jobs from workers and from foreign threads all run) {
  auto cfg = mesh::make_caf_config(with_policy("sharing"));
  caf::actor_system sys{*cfg};
  CAF_REQUIRE(runs_prompt_sharing(sys));
  // A ring of relays passing one message 10,000 times (worker to worker).
  std::atomic<int> seen{0};
  constexpr int ring_size = 8;
  constexpr int hops = 10000;
  std::vector<caf::actor> ring;
  for (int i = 0; i < ring_size; ++i)
    ring.push_back(sys.spawn(relay, &seen));
  for (int i = 0; i < ring_size; ++i)
    caf::anon_send(ring[i], ring[(i + 1) % ring_size]);
  caf::anon_send(ring[0], hops);
  // Four foreign threads each asking an incrementer 500 times.
  auto inc = sys.spawn(incrementer);
  std::atomic<int> answered{0};
  std::vector<std::thread> askers;
  for (int t = 0; t < 4; ++t)
    askers.emplace_back([&] {
      caf::scoped_actor self{sys};
      for (int i = 0; i < 500; ++i)
        self->request(inc, std::chrono::seconds{10}, i)
          .receive([&](int r) { answered += r == i + 1 ? 1 : 0; },
                   [](caf::error&) {});
    });
  for (auto& t : askers)
    t.join();
  CAF_CHECK_EQUAL(answered.load(), 2000);
  CAF_REQUIRE(await_condition([&] { return seen.load() == hops + 1; },
                              std::chrono::seconds{10}));
  for (auto& a : ring)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(inc, caf::exit_reason::user_shutdown);
}

// Strict ping-pong from a thread CAF does not own: before each request
// every worker has run out of work and sleeps, so each one must wake a
// worker; a wake-up lost would leave the request queued until its timeout.
// With polling (scheduler.worker_spin_us) a worker that ran out of jobs
// looks at the queue a while before it sleeps; jobs that come meanwhile
// and after must run alike.
CAF_TEST(every job enqueued while the workers sleep wakes one) {
  for (auto [threads, spin] :
       {std::pair{size_t{1}, 0u}, std::pair{size_t{4}, 0u},
        std::pair{size_t{2}, 100u}, std::pair{size_t{4}, 10000u}}) {
    CAF_MESSAGE(threads << " worker(s), polling " << spin << " us");
    auto nc = with_policy("sharing", threads);
    nc.scheduler.worker_spin_us = spin;
    auto cfg = mesh::make_caf_config(nc);
    caf::actor_system sys{*cfg};
    CAF_REQUIRE(runs_prompt_sharing(sys));
    auto inc = sys.spawn(incrementer);
    caf::scoped_actor self{sys};
    int answered = 0;
    int failed = 0;
    for (int i = 0; i < 5000 && failed == 0; ++i)
      self->request(inc, std::chrono::seconds{5}, i)
        .receive([&](int r) { answered += r == i + 1 ? 1 : 0; },
                 [&](caf::error&) { ++failed; });
    CAF_CHECK_EQUAL(answered, 5000);
    CAF_CHECK_EQUAL(failed, 0);
    caf::anon_send_exit(inc, caf::exit_reason::user_shutdown);
  }
}

// The polling budget reaches the scheduler from the node's config, and is
// dropped where the node may run on one CPU only: there a polling worker
// would only stand in the way of the thread that brings its next job.
CAF_TEST(workers poll only where the node has more than one CPU) {
  auto budget = [](uint32_t us) {
    auto nc = with_policy("sharing", 1);
    nc.scheduler.worker_spin_us = us;
    auto cfg = mesh::make_caf_config(nc);
    caf::actor_system sys{*cfg};
    auto* sched = dynamic_cast<prompt_coordinator*>(&sys.scheduler());
    CAF_REQUIRE(sched != nullptr);
    return std::chrono::duration_cast<std::chrono::microseconds>(
             sched->data().spin)
      .count();
  };
  cpu_set_t mask;
  CAF_REQUIRE_EQUAL(::sched_getaffinity(0, sizeof mask, &mask), 0);
  bool several = CPU_COUNT(&mask) > 1;
  CAF_CHECK_EQUAL(budget(250), several ? 250 : 0);
  CAF_CHECK_EQUAL(budget(0), 0);
  CAF_CHECK_EQUAL(budget(mesh::node_config{}.scheduler.worker_spin_us),
                  several ? 100 : 0);
  {
    mesh::test::pinned_here one_cpu;
    CAF_CHECK_EQUAL(budget(250), 0);
  }
}

// An actor a worker's job wakes runs next on that worker (its slot), not on
// a second worker woken for it: the sender keeps its worker busy for a
// while after sending, and the woken actor must not have run meanwhile
// (with the message in the shared queue the idle worker takes it at once).
// The bounded wait asserts that something does not happen.
CAF_TEST(an actor woken by a job runs next on the same worker) {
  auto cfg = mesh::make_caf_config(with_policy("sharing", 2));
  caf::actor_system sys{*cfg};
  CAF_REQUIRE(runs_prompt_sharing(sys));
  std::atomic<bool> woken_ran{false};
  std::atomic<std::thread::id> woken_thread{};
  // Lazily started: its first message, not its start, wakes it (a start
  // still running on the other worker would take the message there).
  auto woken = sys.spawn<caf::lazy_init>([&] {
    return caf::behavior{[&](int) {
      woken_thread = std::this_thread::get_id();
      woken_ran = true;
    }};
  });
  std::atomic<bool> ran_meanwhile{true};
  std::atomic<std::thread::id> sender_thread{};
  auto sender = sys.spawn([&](caf::event_based_actor* self) {
    return caf::behavior{[&, self](caf::actor& to) {
      sender_thread = std::this_thread::get_id();
      self->send(to, 1);
      ran_meanwhile = await_condition([&] { return woken_ran.load(); },
                                      std::chrono::milliseconds{200});
    }};
  });
  caf::anon_send(sender, woken);
  CAF_REQUIRE(await_condition([&] { return woken_ran.load(); },
                              std::chrono::seconds{10}));
  CAF_CHECK(!ran_meanwhile.load());
  CAF_CHECK(woken_thread.load() == sender_thread.load());
  caf::anon_send_exit(woken, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
}

// Two actors that keep waking each other would run from the slot forever;
// after a few slot jobs in a row the worker serves the shared queue, so a
// request from outside is answered while they go on.
CAF_TEST(actors that keep waking each other leave room for the rest) {
  auto cfg = mesh::make_caf_config(with_policy("sharing", 1));
  caf::actor_system sys{*cfg};
  CAF_REQUIRE(runs_prompt_sharing(sys));
  std::atomic<int> seen{0};
  auto ping = sys.spawn(relay, &seen);
  auto pong = sys.spawn(relay, &seen);
  caf::anon_send(ping, pong);
  caf::anon_send(pong, ping);
  caf::anon_send(ping, 1 << 30); // passed on for as long as the test runs
  CAF_REQUIRE(await_condition([&] { return seen.load() > 1000; },
                              std::chrono::seconds{10}));
  auto inc = sys.spawn(incrementer);
  caf::scoped_actor self{sys};
  int answer = 0;
  std::string error;
  self->request(inc, std::chrono::seconds{5}, 41)
    .receive([&](int r) { answer = r; },
             [&](caf::error& err) { error = sys.render(err); });
  CAF_CHECK_EQUAL(error, "");
  CAF_CHECK_EQUAL(answer, 42);
  for (auto& a : {ping, pong, inc})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// CAF wakes an actor through the execution unit of the one that sends,
// and a response promise delivered from a thread of its own (as a blocking
// handler's pool does) names the worker its actor last ran on, which may
// be asleep: such a job must go to the shared queue and wake a worker, not
// into the slot of a worker that never looks at it.
CAF_TEST(a job woken from a foreign thread wakes a worker) {
  auto cfg = mesh::make_caf_config(with_policy("sharing", 1));
  caf::actor_system sys{*cfg};
  CAF_REQUIRE(runs_prompt_sharing(sys));
  // Joined however the test ends (a failed REQUIRE throws).
  struct joined_threads {
    std::mutex mtx;
    std::vector<std::thread> threads;
    ~joined_threads() {
      std::lock_guard<std::mutex> guard{mtx};
      for (auto& t : threads)
        t.join();
    }
  } deliverers;
  auto deferred = sys.spawn([&](caf::event_based_actor* self) {
    return caf::behavior{[&, self](int n) {
      auto rp = self->make_response_promise<int>();
      std::lock_guard<std::mutex> guard{deliverers.mtx};
      deliverers.threads.emplace_back(
        [rp, n]() mutable { rp.deliver(n + 1); });
      return rp;
    }};
  });
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    sys.spawn([&, i](caf::event_based_actor* self) {
      self->request(deferred, std::chrono::seconds{5}, i)
        .then([&, i](int r) { answered += r == i + 1 ? 1 : 0; });
    });
    CAF_REQUIRE(await_condition([&] { return answered.load() == i + 1; },
                                std::chrono::seconds{10}));
  }
  caf::anon_send_exit(deferred, caf::exit_reason::user_shutdown);
}
