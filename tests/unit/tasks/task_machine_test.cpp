#define CAF_SUITE tasks.machine
#include "check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "tasks/retry_policy.hpp"
#include "tasks/task.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

// Every field of a task, so that "nothing changed" is one comparison.
std::string describe(const task_record& t) {
  auto history = nlohmann::json::array();
  for (const auto& r : t.history)
    history.push_back({r.attempt, r.status, r.error, r.node, r.at_ms});
  return nlohmann::json{{"id", t.id},
                        {"job", t.job},
                        {"dataset", t.event.dataset},
                        {"cursor", t.event.cursor},
                        {"partition", t.event.partition},
                        {"payload", t.event.payload},
                        {"state", to_string(t.state)},
                        {"attempts", t.attempts},
                        {"created_ms", t.created_ms},
                        {"due_ms", t.due_ms},
                        {"history", history}}
      .dump();
}

task_record make_task(task_state state, uint32_t attempts = 0) {
  task_record t;
  t.job = "resize";
  t.event = {"images", 7, "eu", nlohmann::json{{"file", "a.png"}}};
  t.id = make_task_id(t.job, t.event);
  t.state = state;
  t.attempts = attempts;
  t.created_ms = 1000;
  t.due_ms = 1000;
  return t;
}

attempt_record failure(const std::string& error, const std::string& node,
                       int64_t at_ms) {
  return {0, "handler_error", error, node, at_ms};
}

constexpr task_state all_states[]
    = {task_state::held, task_state::queued, task_state::leased,
       task_state::done, task_state::dead};

int64_t ms(std::chrono::milliseconds x) {
  return x.count();
}

} // namespace

CAF_TEST(states have names and parse back) {
  for (auto s : all_states) {
    auto parsed = task_state_from_string(to_string(s));
    CAF_REQUIRE(parsed.has_value());
    CAF_CHECK(*parsed == s);
  }
  CAF_CHECK_EQUAL(std::string{to_string(task_state::queued)}, "queued");
  CAF_CHECK(!task_state_from_string("Queued"));
  CAF_CHECK(!task_state_from_string(""));
  CAF_CHECK_EQUAL(std::string{to_string(static_cast<task_state>(99))},
                  "unknown");
  CAF_CHECK(!task_state_from_string("unknown"));
}

CAF_TEST(a task id is job dataset partition and cursor) {
  task_event e{"images", 42, "eu", nullptr};
  CAF_CHECK_EQUAL(make_task_id("resize", e), "resize:images:eu:42");
  e.partition.clear();
  CAF_CHECK_EQUAL(make_task_id("resize", e), "resize:images::42");
  e.cursor = -3;
  e.payload = nlohmann::json{{"ignored", true}};
  CAF_CHECK_EQUAL(make_task_id("resize", e), "resize:images::-3");
}

CAF_TEST(release moves only a held task to queued) {
  auto t = make_task(task_state::held);
  CAF_CHECK(task_machine::release(t, 5000));
  CAF_CHECK(t.state == task_state::queued);
  CAF_CHECK_EQUAL(t.due_ms, 5000);
  for (auto s : all_states) {
    if (s == task_state::held)
      continue;
    auto u = make_task(s, 1);
    auto before = describe(u);
    CAF_CHECK(!task_machine::release(u, 5000));
    CAF_CHECK_EQUAL(describe(u), before);
  }
}

CAF_TEST(lease starts the next attempt with a deadline) {
  auto t = make_task(task_state::queued);
  CAF_CHECK(task_machine::lease(t, 2000, 300));
  CAF_CHECK(t.state == task_state::leased);
  CAF_CHECK_EQUAL(t.attempts, 1u);
  CAF_CHECK_EQUAL(t.due_ms, 2300);
  for (auto s : all_states) {
    if (s == task_state::queued)
      continue;
    auto u = make_task(s, 1);
    auto before = describe(u);
    CAF_CHECK(!task_machine::lease(u, 2000, 300));
    CAF_CHECK_EQUAL(describe(u), before);
  }
}

CAF_TEST(extend moves the deadline of the current attempt only) {
  auto t = make_task(task_state::queued);
  task_machine::lease(t, 2000, 300);
  CAF_CHECK(task_machine::extend(t, 1, 2200, 300));
  CAF_CHECK_EQUAL(t.due_ms, 2500);
  CAF_CHECK(t.state == task_state::leased);
  auto before = describe(t);
  CAF_CHECK(!task_machine::extend(t, 0, 2400, 300)); // stale attempt
  CAF_CHECK(!task_machine::extend(t, 2, 2400, 300)); // future attempt
  CAF_CHECK_EQUAL(describe(t), before);
  for (auto s : all_states) {
    if (s == task_state::leased)
      continue;
    auto u = make_task(s, 1);
    auto prior = describe(u);
    CAF_CHECK(!task_machine::extend(u, 1, 2400, 300));
    CAF_CHECK_EQUAL(describe(u), prior);
  }
}

CAF_TEST(complete finishes the current attempt only) {
  auto t = make_task(task_state::queued);
  task_machine::lease(t, 2000, 300);
  auto stale = make_task(task_state::leased, 2);
  auto before = describe(stale);
  CAF_CHECK(!task_machine::complete(stale, 1, 2100));
  CAF_CHECK_EQUAL(describe(stale), before);
  CAF_CHECK(task_machine::complete(t, 1, 2100));
  CAF_CHECK(t.state == task_state::done);
  CAF_CHECK_EQUAL(t.due_ms, 2100); // when it finished: retention counts from it
  CAF_CHECK_EQUAL(t.attempts, 1u);
  before = describe(t);
  CAF_CHECK(!task_machine::complete(t, 1, 2200)); // twice
  CAF_CHECK_EQUAL(describe(t), before);
  for (auto s : all_states) {
    if (s == task_state::leased)
      continue;
    auto u = make_task(s, 1);
    auto prior = describe(u);
    CAF_CHECK(!task_machine::complete(u, 1, 2100));
    CAF_CHECK_EQUAL(describe(u), prior);
  }
}

CAF_TEST(fail queues the task again after the backoff) {
  auto t = make_task(task_state::queued);
  task_machine::lease(t, 2000, 300);
  auto next = task_machine::fail(t, 1, failure("boom", "node-a", 2100), 3, 1000,
                                 2150);
  CAF_REQUIRE(next.has_value());
  CAF_CHECK(*next == task_state::queued);
  CAF_CHECK(t.state == task_state::queued);
  CAF_CHECK_EQUAL(t.due_ms, 3150);
  CAF_CHECK_EQUAL(t.attempts, 1u);
  CAF_REQUIRE_EQUAL(t.history.size(), 1u);
  CAF_CHECK_EQUAL(t.history[0].attempt, 1u);
  CAF_CHECK_EQUAL(t.history[0].status, "handler_error");
  CAF_CHECK_EQUAL(t.history[0].error, "boom");
  CAF_CHECK_EQUAL(t.history[0].node, "node-a");
  CAF_CHECK_EQUAL(t.history[0].at_ms, 2100);
  // A failure without a time is stamped with `now`.
  task_machine::lease(t, 4000, 300);
  task_machine::fail(t, 2, failure("again", "", 0), 3, 0, 4100);
  CAF_REQUIRE_EQUAL(t.history.size(), 2u);
  CAF_CHECK_EQUAL(t.history[1].attempt, 2u);
  CAF_CHECK_EQUAL(t.history[1].at_ms, 4100);
  CAF_CHECK_EQUAL(t.due_ms, 4100);
}

CAF_TEST(fail refuses a stale attempt and a task that is not leased) {
  auto t = make_task(task_state::leased, 2);
  auto before = describe(t);
  CAF_CHECK(!task_machine::fail(t, 1, failure("late", "n", 1), 3, 10, 10));
  CAF_CHECK(!task_machine::fail(t, 3, failure("early", "n", 1), 3, 10, 10));
  CAF_CHECK_EQUAL(describe(t), before);
  for (auto s : all_states) {
    if (s == task_state::leased)
      continue;
    auto u = make_task(s, 1);
    auto prior = describe(u);
    CAF_CHECK(!task_machine::fail(u, 1, failure("x", "n", 1), 3, 10, 10));
    CAF_CHECK_EQUAL(describe(u), prior);
  }
}

CAF_TEST(a task is dead after max attempts and keeps every failure) {
  auto t = make_task(task_state::queued);
  const char* nodes[] = {"node-a", "node-b", "node-c"};
  for (uint32_t i = 1; i <= 3; ++i) {
    int64_t now = 10000 * i;
    CAF_REQUIRE(task_machine::lease(t, now, 300));
    CAF_REQUIRE_EQUAL(t.attempts, i);
    auto next = task_machine::fail(
        t, i, failure("error " + std::to_string(i), nodes[i - 1], now + 7), 3,
        500, now + 10);
    CAF_REQUIRE(next.has_value());
    CAF_CHECK(*next == (i < 3 ? task_state::queued : task_state::dead));
  }
  CAF_CHECK(t.state == task_state::dead);
  CAF_CHECK_EQUAL(t.attempts, 3u);
  CAF_REQUIRE_EQUAL(t.history.size(), 3u);
  for (uint32_t i = 1; i <= 3; ++i) {
    const auto& h = t.history[i - 1];
    CAF_CHECK_EQUAL(h.attempt, i);
    CAF_CHECK_EQUAL(h.error, "error " + std::to_string(i));
    CAF_CHECK_EQUAL(h.node, nodes[i - 1]);
    CAF_CHECK_EQUAL(h.at_ms, 10000 * i + 7);
  }
  // A dead task takes no more transitions but revive.
  auto before = describe(t);
  CAF_CHECK(!task_machine::lease(t, 50000, 300));
  CAF_CHECK(!task_machine::release(t, 50000));
  CAF_CHECK(!task_machine::recover(t, 50000));
  CAF_CHECK(!task_machine::fail(t, 3, failure("x", "n", 1), 3, 0, 1));
  CAF_CHECK_EQUAL(describe(t), before);
}

CAF_TEST(max attempts of one makes the first failure final) {
  auto t = make_task(task_state::queued);
  task_machine::lease(t, 1, 300);
  auto next = task_machine::fail(t, 1, failure("x", "n", 1), 1, 1000, 2);
  CAF_REQUIRE(next.has_value());
  CAF_CHECK(*next == task_state::dead);
}

CAF_TEST(revive queues a dead task with its attempts reset) {
  auto t = make_task(task_state::queued);
  for (uint32_t i = 1; i <= 2; ++i) {
    task_machine::lease(t, i * 100, 10);
    task_machine::fail(t, i, failure("e", "n", i * 100), 2, 0, i * 100);
  }
  CAF_REQUIRE(t.state == task_state::dead);
  CAF_CHECK(task_machine::revive(t, 9000));
  CAF_CHECK(t.state == task_state::queued);
  CAF_CHECK_EQUAL(t.attempts, 0u);
  CAF_CHECK_EQUAL(t.due_ms, 9000);
  CAF_CHECK_EQUAL(t.history.size(), 2u);
  CAF_CHECK(task_machine::lease(t, 9100, 10));
  CAF_CHECK_EQUAL(t.attempts, 1u);
  for (auto s : all_states) {
    if (s == task_state::dead)
      continue;
    auto u = make_task(s, 1);
    auto prior = describe(u);
    CAF_CHECK(!task_machine::revive(u, 9000));
    CAF_CHECK_EQUAL(describe(u), prior);
  }
}

CAF_TEST(recover queues a leased task and counts the attempt) {
  auto t = make_task(task_state::queued);
  task_machine::lease(t, 1000, 300);
  CAF_CHECK(task_machine::recover(t, 1500));
  CAF_CHECK(t.state == task_state::queued);
  CAF_CHECK_EQUAL(t.due_ms, 1500);
  CAF_CHECK_EQUAL(t.attempts, 1u);
  CAF_REQUIRE_EQUAL(t.history.size(), 1u);
  CAF_CHECK_EQUAL(t.history[0].attempt, 1u);
  CAF_CHECK_EQUAL(t.history[0].status, "interrupted");
  CAF_CHECK_EQUAL(
      t.history[0].error,
      "the node holding the queue stopped while the task was leased");
  CAF_CHECK_EQUAL(t.history[0].at_ms, 1500);
  CAF_CHECK(task_machine::lease(t, 1600, 300));
  CAF_CHECK_EQUAL(t.attempts, 2u);
  // Even with every attempt used, a crash queues the task again.
  auto u = make_task(task_state::leased, 3);
  CAF_CHECK(task_machine::recover(u, 10));
  CAF_CHECK(u.state == task_state::queued);
  for (auto s : all_states) {
    if (s == task_state::leased)
      continue;
    auto v = make_task(s, 1);
    auto prior = describe(v);
    CAF_CHECK(!task_machine::recover(v, 10));
    CAF_CHECK_EQUAL(describe(v), prior);
  }
}

CAF_TEST(retry delays grow by the multiplier up to the cap) {
  retry_policy p{1000ms, 2.0, 100000ms, 0.0};
  CAF_CHECK_EQUAL(ms(p.delay(0, 0.5)), 0);
  CAF_CHECK_EQUAL(ms(p.delay(1, 0.5)), 0);
  CAF_CHECK_EQUAL(ms(p.delay(2, 0.5)), 1000);
  CAF_CHECK_EQUAL(ms(p.delay(3, 0.5)), 2000);
  CAF_CHECK_EQUAL(ms(p.delay(4, 0.9)), 4000);
  CAF_CHECK_EQUAL(ms(p.delay(8, 0.0)), 64000);
  CAF_CHECK_EQUAL(ms(p.delay(9, 0.0)), 100000); // 128000, capped
  CAF_CHECK_EQUAL(ms(p.delay(1000, 0.0)), 100000);
  retry_policy flat{250ms, 1.0, 100000ms, 0.0};
  CAF_CHECK_EQUAL(ms(flat.delay(2, 0.3)), 250);
  CAF_CHECK_EQUAL(ms(flat.delay(50, 0.3)), 250);
  retry_policy slow{100ms, 1.5, 100000ms, 0.0};
  CAF_CHECK_EQUAL(ms(slow.delay(4, 0.0)), 225);
}

CAF_TEST(retry jitter stays within its bounds) {
  retry_policy p{1000ms, 2.0, 100000ms, 0.1};
  CAF_CHECK_EQUAL(ms(p.delay(2, 0.0)), 900);
  CAF_CHECK_EQUAL(ms(p.delay(2, 0.5)), 1000);
  CAF_CHECK_EQUAL(ms(p.delay(3, 0.75)), 2100);
  CAF_CHECK_EQUAL(ms(p.delay(1, 0.99)), 0);
  for (uint32_t attempt = 2; attempt < 40; ++attempt) {
    double base = std::min(1000.0 * std::pow(2.0, attempt - 2.0), 100000.0);
    for (double r = 0.0; r < 1.0; r += 0.0625) {
      auto d = ms(p.delay(attempt, r));
      CAF_CHECK_GREATER_OR_EQUAL(d, std::llround(base * 0.9));
      CAF_CHECK_LESS_OR_EQUAL(d, std::llround(base * 1.1));
      CAF_CHECK_LESS_OR_EQUAL(d, 110000);
    }
  }
  // Out-of-range inputs stay within the bounds too.
  CAF_CHECK_GREATER_OR_EQUAL(ms(p.delay(2, -5.0)), 900);
  CAF_CHECK_LESS_OR_EQUAL(ms(p.delay(2, 7.0)), 1100);
  retry_policy wild{1000ms, 2.0, 100000ms, 3.0};
  for (double r = 0.0; r < 1.0; r += 0.125) {
    CAF_CHECK_GREATER_OR_EQUAL(ms(wild.delay(30, r)), 0);
    CAF_CHECK_LESS_OR_EQUAL(ms(wild.delay(30, r)), 400000);
  }
}

CAF_TEST(retry delays do not overflow) {
  retry_policy p{1000ms, 2.0, 100000ms, 0.1};
  auto d = ms(p.delay(1000, 0.999));
  CAF_CHECK_GREATER_OR_EQUAL(d, 90000);
  CAF_CHECK_LESS_OR_EQUAL(d, 110000);
  CAF_CHECK_EQUAL(ms(p.delay(std::numeric_limits<uint32_t>::max(), 0.5)),
                  100000);
  retry_policy huge{1000ms, 1e300, 100000ms, 0.0};
  CAF_CHECK_EQUAL(ms(huge.delay(1000, 0.5)), 100000);
  CAF_CHECK_EQUAL(ms(huge.delay(3, 0.5)), 100000);
  retry_policy unbounded{1000ms, 10.0, std::chrono::milliseconds::max(), 0.5};
  for (double r : {0.0, 0.5, 0.999}) {
    auto x = ms(unbounded.delay(1000, r));
    CAF_CHECK_GREATER(x, 0);
  }
  retry_policy odd{1000ms, -2.0, 100000ms, 0.0};
  CAF_CHECK_GREATER_OR_EQUAL(ms(odd.delay(3, 0.5)), 0);
  CAF_CHECK_LESS_OR_EQUAL(ms(odd.delay(3, 0.5)), 100000);
}
