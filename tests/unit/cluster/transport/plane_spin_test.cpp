#define CAF_SUITE transport.plane_spin
#include "check.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cluster/transport/plane_spin.hpp"
#include "tcp_pair.hpp"
#include "thread_state.hpp"

// When the data plane's thread polls before it sleeps (plane_spin.hpp):
// only after a busy round that followed a short sleep, with bytes from
// another CPU, never beyond its budget, and it returns as soon as
// something is ready.

using namespace mesh;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

// A TCP connection over 127.0.0.1.
struct loopback_pair : mesh::test::tcp_pair {
  // A byte from the dialled end, read at the accepted end: the accepted
  // socket's SO_INCOMING_CPU is then the CPU this thread sent from.
  void ping() {
    char c = 'x';
    CAF_REQUIRE_EQUAL(::send(dialled, &c, 1, 0), 1);
    CAF_REQUIRE_EQUAL(::recv(accepted, &c, 1, 0), 1);
  }
};

// Pins the calling thread to one CPU at a time; gives it its CPUs back.
class cpu_hopper {
public:
  cpu_hopper() {
    CAF_REQUIRE_EQUAL(::sched_getaffinity(0, sizeof before_, &before_), 0);
  }

  ~cpu_hopper() {
    ::sched_setaffinity(0, sizeof before_, &before_);
  }

  // The `nth` CPU this thread may run on. The test machines have two;
  // with one, the tests that need a second fail saying so.
  int allowed(int nth) const {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &before_) && nth-- == 0)
        return cpu;
    CAF_FAIL("this test needs a second CPU to send from");
    return -1;
  }

  void go(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CAF_REQUIRE_EQUAL(::sched_setaffinity(0, sizeof one, &one), 0);
    CAF_REQUIRE_EQUAL(::sched_getcpu(), cpu);
  }

private:
  cpu_set_t before_;
};

// A byte sent on `p` from the first allowed CPU; the thread then runs on
// the second.
void ping_from_another_cpu(cpu_hopper& hop, loopback_pair& p) {
  hop.go(hop.allowed(0));
  p.ping();
  hop.go(hop.allowed(1));
}

// An epoll set watching the accepted end of a loopback pair.
struct watched_pair : loopback_pair {
  int ep = -1;

  watched_pair() {
    ep = ::epoll_create1(EPOLL_CLOEXEC);
    CAF_REQUIRE(ep >= 0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    CAF_REQUIRE_EQUAL(::epoll_ctl(ep, EPOLL_CTL_ADD, accepted, &ev), 0);
  }

  ~watched_pair() {
    ::close(ep);
  }

  void drain() {
    char buf[16];
    CAF_REQUIRE(::recv(accepted, buf, sizeof buf, MSG_DONTWAIT) > 0);
  }
};

} // namespace

CAF_TEST(nothing delivered or no budget: no polling) {
  plane_spin fresh{100us};
  CAF_CHECK(!fresh.worth_it());
  cpu_hopper hop;
  loopback_pair p;
  ping_from_another_cpu(hop, p);
  plane_spin off{0us};
  off.delivered(p.accepted);
  CAF_CHECK(!off.worth_it());
}

CAF_TEST(bytes sent from this thread s CPU are not worth polling for) {
  cpu_hopper hop;
  hop.go(hop.allowed(0));
  loopback_pair p;
  p.ping();
  plane_spin spin{100us};
  spin.delivered(p.accepted);
  CAF_CHECK(!spin.worth_it());
}

CAF_TEST(bytes sent from another CPU are and the verdict follows the link) {
  cpu_hopper hop;
  int a = hop.allowed(0);
  int b = hop.allowed(1);
  loopback_pair from_a;
  hop.go(a);
  from_a.ping();
  hop.go(b);
  plane_spin spin{100us};
  spin.delivered(from_a.accepted);
  CAF_CHECK(spin.worth_it());
  // Bytes from this CPU now: once the last verdict's millisecond is over,
  // polling stops.
  loopback_pair from_b;
  from_b.ping();
  spin.delivered(from_b.accepted);
  auto later = clock_type::now() + 2ms;
  while (clock_type::now() < later)
    ; // the verdict lasts a millisecond of the steady clock
  CAF_CHECK(!spin.worth_it());
}

CAF_TEST(a forgotten or closed socket is not worth polling for) {
  cpu_hopper hop;
  loopback_pair p;
  ping_from_another_cpu(hop, p);
  plane_spin spin{100us};
  spin.delivered(p.accepted);
  spin.forget(p.accepted);
  CAF_CHECK(!spin.worth_it());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ::close(fd);
  plane_spin closed{100us};
  closed.delivered(fd);
  CAF_CHECK(!closed.worth_it());
}

CAF_TEST(poll returns what is ready without spending the budget) {
  watched_pair p;
  char c = 'x';
  CAF_REQUIRE_EQUAL(::send(p.dialled, &c, 1, 0), 1);
  plane_spin spin{5s};
  epoll_event out[4];
  auto start = clock_type::now();
  CAF_CHECK_EQUAL(spin.poll(p.ep, out, 4), 1);
  CAF_CHECK(clock_type::now() - start < 4s);
}

CAF_TEST(poll gives up once the budget is spent) {
  watched_pair p;
  plane_spin spin{3ms};
  epoll_event out[4];
  auto start = clock_type::now();
  CAF_CHECK_EQUAL(spin.poll(p.ep, out, 4), 0);
  CAF_CHECK(clock_type::now() - start >= 3ms);
}

CAF_TEST(wait polls after a busy round that followed a short sleep) {
  cpu_hopper hop;
  watched_pair p;
  hop.go(hop.allowed(0));
  char c = 'x';
  CAF_REQUIRE_EQUAL(::send(p.dialled, &c, 1, 0), 1); // from CPU a
  hop.go(hop.allowed(1));
  plane_spin spin{20ms};
  epoll_event out[4];
  CAF_CHECK_EQUAL(spin.wait(p.ep, out, 4, 0), 1); // a busy round, no sleep
  p.drain();
  spin.delivered(p.accepted);
  auto start = clock_type::now();
  CAF_CHECK_EQUAL(spin.wait(p.ep, out, 4, 0), 0); // polled, then gave up
  CAF_CHECK(clock_type::now() - start >= 20ms);
}

CAF_TEST(wait does not poll after a round that followed a long sleep) {
  // The bytes come 5 ms into the thread's sleep (light traffic), from
  // another CPU.
  cpu_hopper hop;
  int a = hop.allowed(0);
  hop.go(hop.allowed(1));
  watched_pair p;
  std::atomic<pid_t> sleeper{static_cast<pid_t>(::syscall(SYS_gettid))};
  std::thread later{[&] {
    cpu_hopper there;
    there.go(a);
    while (!mesh::test::asleep(sleeper.load()))
      std::this_thread::yield();
    std::this_thread::sleep_for(5ms); // the gap under test, not a sync
    char c = 'x';
    ::send(p.dialled, &c, 1, 0);
  }};
  plane_spin spin{5s};
  epoll_event out[4];
  int n = spin.wait(p.ep, out, 4, 10000);
  later.join();
  CAF_REQUIRE_EQUAL(n, 1);
  p.drain();
  spin.delivered(p.accepted);
  CAF_REQUIRE(spin.worth_it()); // from another CPU: only the sleep says no
  auto start = clock_type::now();
  CAF_CHECK_EQUAL(spin.wait(p.ep, out, 4, 0), 0);
  CAF_CHECK(clock_type::now() - start < 4s); // polling would take 5 s
}
