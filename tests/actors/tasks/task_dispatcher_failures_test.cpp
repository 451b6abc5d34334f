#define CAF_SUITE actors.task_dispatcher_failures
#include "task_fixture.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/tasks/task_dispatcher_state.hpp" // task_trace_id
#include "protocol/json/json_payload.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/status.hpp"
#include "unit/task_fixtures.hpp" // raw_sql

// A row of the store that cannot be read at start: set aside, the rest
// delivered. Deliveries no node took: a `mesh` job whose router answers not_found
// without a node (no route yet, as while a restarted node rejoins its
// peers). Such a failure does not use up an attempt, up to a bound of free
// tries, after which attempts count again.

using namespace mesh;
using namespace mesh::test;

namespace {

/// What the fake router saw: the attempt number of every request.
struct router_log {
  std::vector<uint32_t> attempts;
  std::vector<std::string> trace_ids;
};

/// A router whose first `misses` answers are not_found from no node (every
/// answer when `misses` is negative), and later ones ok from node n2.
router_actor::behavior_type fake_router(router_actor::pointer,
                                        std::shared_ptr<router_log> log,
                                        int misses) {
  return {
    [=](pb::DispatchRequest& req) {
      log->attempts.push_back(req.task().attempt());
      log->trace_ids.push_back(req.trace_id());
      pb::DispatchResponse r;
      auto n = static_cast<int>(log->attempts.size());
      if (misses < 0 || n <= misses) {
        r.mutable_status()->set_code(
          static_cast<pb::StatusCode>(status_code::not_found));
        r.mutable_status()->set_message("no node serves sink/Sink/Count");
      } else {
        r.mutable_status()->set_code(
          static_cast<pb::StatusCode>(status_code::ok));
        *r.mutable_payload() = json_to_any(json{{"counted", true}});
        r.set_handled_by("n2");
      }
      return r;
    },
    [](pb::ServeRequest&) { return pb::ServeResponse{}; },
    [](atom::update, handler_table_ptr&) {},
    [](atom::update, peer_table_ptr&) {},
    [](atom::drain) { return caf::ok_atom::value; },
    [](atom::stats) { return json::object(); },
    [](atom::sweep) {},
    [](atom::batch) {},
    [](atom::batch, const std::string&, pb::ServeReplies&) {},
    [](data_replies&) {},
    [](data_link_down&) {},
    [](atom::batch, pb::ServeBatch&)
      -> caf::result<pb::ServeReplies, pb::ServeBatch> {
      return {pb::ServeReplies{}, pb::ServeBatch{}};
    },
    [](atom::heartbeat, pb::TaskHeartbeat&) {},
    [](atom::policies, std::string&) { return json::array(); },
    [](atom::reload) { return json::object(); },
    [](atom::hooks) { return json::object(); },
    [](atom::breakers) { return json::array(); },
    [](atom::idempotent, std::string&) { return int32_t{0}; },
  };
}

// A `mesh` job with short backoffs, so that many tries fit in little
// simulated time.
json mesh_job(uint32_t max_attempts) {
  return {{"runtime", "mesh"},
          {"target", "sink/Sink/Count"},
          {"max_attempts", max_attempts},
          {"retry", {{"initial_ms", 10}, {"max_ms", 50}, {"jitter", 0}}}};
}

// a -> b, b holding at most 2 queued tasks and over it (3): a's next
// event is held.
void hold_an_event(task_fixture& f) {
  f.add_job("a", {{"outputs", {"b-in"}}});
  f.add_job("b", {{"max_queue_depth", 2}});
  f.start();
  f.ask<json>(f.tasks, atom::pause_v, std::string{"b"}, true);
  for (int64_t c = 1; c <= 3; ++c)
    f.emit("a-in", c);
  f.finish_all();
  f.wait(200ms);
  CAF_REQUIRE_EQUAL(f.emit("a-in", 4)["held"].get<int>(), 1);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(task_dispatcher_failures_tests, task_fixture)

CAF_TEST(a delivery no node took does not use up an attempt) {
  auto log = std::make_shared<router_log>();
  router = sys.spawn(fake_router, log, 3);
  add_job("a", mesh_job(1));
  start();
  emit("a-in", 1);
  bool settled = wait_until(
    [&] {
      auto j = job("a");
      return j["done"].get<int>() + j["dead"].get<int>() == 1;
    },
    5s);
  CAF_REQUIRE(settled);
  auto j = job("a");
  CAF_CHECK_EQUAL(j["done"].get<int>(), 1);
  CAF_CHECK_EQUAL(j["dead"].get<int>(), 0);
  // Four deliveries, all of them attempt 1: the three misses were free.
  CAF_CHECK_EQUAL(log->attempts, (std::vector<uint32_t>{1, 1, 1, 1}));
  auto list = ask<json>(tasks, atom::tasks_v, json{{"job", "a"}});
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  const auto& t = list[0];
  CAF_CHECK_EQUAL(t["state"].get<std::string>(), "done");
  CAF_CHECK_EQUAL(t["attempts"].get<int>(), 1);
  CAF_REQUIRE_EQUAL(t["history"].size(), 3u);
  for (const auto& h : t["history"]) {
    CAF_CHECK_EQUAL(h["status"].get<std::string>(), "not_found");
    CAF_CHECK_EQUAL(h["node"].get<std::string>(), "");
  }
}

CAF_TEST(a traced delivery carries a trace id the router accepts) {
  // A task's trace id is its id, unless the id holds what no trace id may
  // (a partition with a space or a slash): then a hash of it.
  traces = std::make_shared<trace_ring>("n1", 100);
  auto log = std::make_shared<router_log>();
  router = sys.spawn(fake_router, log, 0);
  add_job("a", mesh_job(1));
  start();
  ask<json>(tasks, atom::emit_v,
            json{{"dataset", "a-in"}, {"cursor", 1}, {"partition", "eu-1"}});
  ask<json>(
      tasks, atom::emit_v,
      json{{"dataset", "a-in"}, {"cursor", 1}, {"partition", "eu west/2"}});
  bool settled = wait_until([&] { return job("a")["done"].get<int>() == 2; },
                            5s);
  CAF_REQUIRE(settled);
  CAF_REQUIRE_EQUAL(log->trace_ids.size(), 2u);
  CAF_CHECK_EQUAL(log->trace_ids[0], "a:a-in:eu-1:1");
  const auto& hashed = log->trace_ids[1];
  CAF_CHECK_EQUAL(hashed, task_trace_id("a:a-in:eu west/2:1"));
  CAF_CHECK(hashed.rfind("task-", 0) == 0);
  CAF_CHECK_EQUAL(hashed.size(), 21u);
  CAF_CHECK(check_trace_id(hashed).empty());
  // The task's own records are kept under the same id.
  CAF_CHECK(!traces->find(hashed).empty());
}

CAF_TEST(free tries are bounded and a task no node ever takes ends dead) {
  auto log = std::make_shared<router_log>();
  router = sys.spawn(fake_router, log, -1);
  add_job("a", mesh_job(2));
  start();
  emit("a-in", 1);
  bool settled = wait_until([&] { return job("a")["dead"].get<int>() == 1; },
                            10s);
  CAF_REQUIRE(settled);
  // 20 free tries (the dispatcher's bound), then both attempts count:
  // attempt 1 a 21st time and attempt 2 once, 22 deliveries in all.
  std::vector<uint32_t> expected(21, 1);
  expected.push_back(2);
  CAF_CHECK_EQUAL(log->attempts, expected);
  auto dead = ask<json>(tasks, atom::dead_v, std::string{"a"});
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(dead[0]["attempts"].get<int>(), 2);
  CAF_REQUIRE_EQUAL(dead[0]["history"].size(), 22u);
  for (const auto& h : dead[0]["history"])
    CAF_CHECK_EQUAL(h["status"].get<std::string>(), "not_found");
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 0);
  // Dead means nothing more is tried.
  wait(1s);
  CAF_CHECK_EQUAL(log->attempts.size(), 22u);
}

CAF_TEST(a stored task that cannot be read is counted and the rest run) {
  add_job("a");
  start();
  for (int64_t c = 1; c <= 3; ++c)
    emit("a-in", c, json{{"n", c}});
  CAF_REQUIRE_EQUAL(runner->waiting(), 3u); // leased, never answered
  stop({tasks});
  task_event second{"a-in", 2, "", nullptr};
  auto bad_id = make_task_id("a", second);
  auto path = dir.file("tasks.db");
  CAF_REQUIRE_EQUAL(raw_sql(path, "UPDATE tasks SET payload = '{\"n\": 2' "
                                  "WHERE id = '" + bad_id + "'"),
                    "");
  runner = std::make_shared<test::manual_runner>();
  start(); // the dispatcher starts: one bad row does not stop the others
  CAF_CHECK_EQUAL(job("a")["unreadable"].get<int>(), 1);
  CAF_CHECK_EQUAL(ask<json>(tasks, atom::stats_v)["unreadable"].get<int>(), 1);
  CAF_CHECK_EQUAL(runner->waiting(), 2u);
  CAF_CHECK_EQUAL(finish_all(), 2u);
  std::vector<int64_t> ran;
  for (const auto& c : calls)
    if (c.attempt == 2) // delivered again after the restart
      ran.push_back(c.cursor);
  std::sort(ran.begin(), ran.end());
  CAF_CHECK_EQUAL(ran, (std::vector<int64_t>{1, 3}));
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 2);
  // Left in the file as it was, under the commits that followed.
  stop({tasks});
  CAF_CHECK_EQUAL(raw_sql(path, "SELECT payload || ' ' || state FROM tasks "
                                "WHERE id = '" + bad_id + "'"),
                  "{\"n\": 2 leased");
}

CAF_TEST(a stored payload larger than the node takes is not loaded) {
  add_job("a");
  start();
  emit("a-in", 1, json{{"n", 1}});
  emit("a-in", 2, json{{"text", std::string(200, 'x')}});
  CAF_REQUIRE_EQUAL(runner->waiting(), 2u);
  stop({tasks});
  // The limit went down while the node was stopped (or the file was
  // edited): the larger row is set aside before it is read.
  max_payload_bytes = 100;
  runner = std::make_shared<test::manual_runner>();
  start();
  CAF_CHECK_EQUAL(job("a")["unreadable"].get<int>(), 1);
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
  CAF_CHECK_EQUAL(finish_all(), 1u);
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 1);
  stop({tasks});
  CAF_CHECK_EQUAL(raw_sql(dir.file("tasks.db"),
                          "SELECT count(*) FROM tasks WHERE state = 'leased'"),
                  "1");
}

CAF_TEST(events held at a stop become tasks once the pressure is gone) {
  hold_an_event(*this);
  stop({tasks});
  // While the node was down its operator raised b's bound: nothing is
  // under pressure at the next start, so nothing will change it, and the
  // held event must not wait for a change that never comes.
  add_job("b", {{"max_queue_depth", 10}});
  runner = std::make_shared<test::manual_runner>();
  start();
  CAF_CHECK_EQUAL(job("a")["held"].get<int>(), 1); // not before a level
  wait(200ms);
  CAF_CHECK_EQUAL(job("a")["held"].get<int>(), 0);
  CAF_CHECK_EQUAL(job("a")["queued"].get<int>()
                    + static_cast<int>(runner->waiting()),
                  1);
}

CAF_TEST(events held for a job that is reloaded away become tasks) {
  hold_an_event(*this);
  // b's file is removed: nothing downstream of a any more.
  std::filesystem::remove(dir.file("jobs/b.json"));
  ask<json>(tasks, atom::reload_v);
  wait(200ms);
  CAF_CHECK_EQUAL(job("a")["held"].get<int>(), 0);
  CAF_CHECK_EQUAL(job("a")["queued"].get<int>()
                    + static_cast<int>(runner->waiting()),
                  1);
}

CAF_TEST_FIXTURE_SCOPE_END()
