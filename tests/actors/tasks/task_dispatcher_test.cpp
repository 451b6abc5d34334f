#define CAF_SUITE actors.task_dispatcher
#include "task_fixture.hpp"

// The task dispatcher's normal life: delivery, dedupe, leases, heartbeats,
// retries and dead letters, pause, backpressure, backfill, restart, job
// files. Deliveries no node took are in task_dispatcher_failures_test.cpp.

using namespace mesh;
using namespace mesh::test;

CAF_TEST_FIXTURE_SCOPE(task_dispatcher_tests, task_fixture)

CAF_TEST(an event becomes a task that is delivered and done) {
  add_job("a");
  start();
  auto r = emit("a-in", 1, json{{"x", 1}});
  CAF_CHECK_EQUAL(r["created"].get<int>(), 1);
  CAF_CHECK_EQUAL(r["tasks"][0].get<std::string>(), "a:a-in::1");
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
  CAF_CHECK_EQUAL(job("a")["leased"].get<int>(), 1);
  CAF_CHECK_EQUAL(finish_all(), 1u);
  CAF_REQUIRE_EQUAL(calls.size(), 1u);
  CAF_CHECK_EQUAL(calls[0].attempt, 1u);
  CAF_CHECK_EQUAL(calls[0].task_id, "a:a-in::1");
  auto j = job("a");
  CAF_CHECK_EQUAL(j["done"].get<int>(), 1);
  CAF_CHECK_EQUAL(j["leased"].get<int>(), 0);
  // Committed: another connection to the file sees it done.
  auto store = open_sqlite_task_store(dir.file("tasks.db"), sync_mode::off);
  auto done = store->count_done();
  CAF_CHECK_EQUAL(done["a"], 1u);
}

CAF_TEST(the same event twice and a stale cursor create nothing) {
  add_job("a");
  start();
  CAF_CHECK_EQUAL(emit("a-in", 5)["created"].get<int>(), 1);
  CAF_CHECK_EQUAL(emit("a-in", 5)["skipped"].get<int>(), 1);
  CAF_CHECK_EQUAL(emit("a-in", 3)["skipped"].get<int>(), 1);
  CAF_CHECK_EQUAL(emit("a-in", 6)["created"].get<int>(), 1);
  CAF_CHECK_EQUAL(job("a")["skipped"].get<int>(), 2);
  auto err = ask_error<json>(tasks, atom::emit_v, json{{"dataset", "a-in"}});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::invalid_argument);
  err = ask_error<json>(tasks, atom::emit_v,
                        json{{"dataset", "no/slash"}, {"cursor", 1}});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::invalid_argument);
}

CAF_TEST(an expired lease puts the task back with backoff) {
  add_job("a");
  start();
  emit("a-in", 1);
  CAF_CHECK_EQUAL(runner->waiting(), 1u); // delivered, never answered
  wait(900ms);
  CAF_CHECK_EQUAL(job("a")["leased"].get<int>(), 1);
  wait(300ms); // lease (1000 ms) over: the reaper requeues it
  auto j = job("a");
  CAF_CHECK_EQUAL(j["expired_leases"].get<int>(), 1);
  wait(300ms); // backoff 100 ms: delivered again
  CAF_CHECK_EQUAL(runner->waiting(), 2u);
  // The late answer of attempt 1 is ignored; attempt 2 completes it.
  CAF_CHECK_EQUAL(finish_all(), 2u);
  CAF_REQUIRE_EQUAL(calls.size(), 2u);
  CAF_CHECK_EQUAL(calls[1].attempt, 2u);
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 1);
}

CAF_TEST(heartbeats extend the lease and silence ends it) {
  add_job("a", {{"heartbeat_ms", 400}, {"lease_ms", 1000}});
  start();
  emit("a-in", 1);
  pb::TaskHeartbeat hb;
  hb.set_task_id("a:a-in::1");
  hb.set_attempt(1);
  hb.set_queue_node("n1");
  for (int i = 0; i < 5; ++i) { // 1500 ms, a heartbeat every 300 ms
    wait(300ms);
    self->send(tasks, atom::heartbeat_v, hb);
    run();
  }
  CAF_CHECK_EQUAL(job("a")["leased"].get<int>(), 1);
  CAF_CHECK_EQUAL(job("a")["expired_leases"].get<int>(), 0);
  wait(600ms); // silent for longer than heartbeat_ms
  CAF_CHECK_EQUAL(job("a")["expired_leases"].get<int>(), 1);
  auto list = ask<json>(tasks, atom::tasks_v, json{{"job", "a"}});
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  CAF_CHECK_EQUAL(list[0]["history"][0]["status"].get<std::string>(),
                  "lease_expired");
}

CAF_TEST(failures retry with backoff then become a dead letter) {
  add_job("a", {{"max_attempts", 3}});
  start();
  work = [](const task_call& c, const json&) -> json {
    throw std::runtime_error("boom " + std::to_string(c.attempt));
  };
  emit("a-in", 1);
  finish_all();                 // attempt 1 fails
  wait(150ms);                  // backoff 100 ms
  CAF_CHECK_EQUAL(finish_all(), 1u); // attempt 2 fails
  wait(250ms);                  // backoff 200 ms
  CAF_CHECK_EQUAL(finish_all(), 1u); // attempt 3 fails: dead
  auto dead = ask<json>(tasks, atom::dead_v, std::string{"a"});
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  auto& history = dead[0]["history"];
  CAF_REQUIRE_EQUAL(history.size(), 3u);
  CAF_CHECK(history[2]["error"].get<std::string>().find("boom 3")
            != std::string::npos);
  CAF_CHECK_EQUAL(history[0]["node"].get<std::string>(), "n1");
  CAF_CHECK(history[1]["at_ms"].get<int64_t>() > 0);
  wait(5000ms);
  CAF_CHECK_EQUAL(runner->waiting(), 0u); // nothing more happens to it
  // Retry brings it back; this time it works.
  work = [](const task_call&, const json& in) { return in; };
  auto revived = ask<json>(tasks, atom::revive_v, std::string{"a:a-in::1"});
  // Queued again with its attempts reset, and delivered at once.
  CAF_CHECK_EQUAL(revived["state"].get<std::string>(), "leased");
  CAF_CHECK_EQUAL(revived["attempts"].get<int>(), 1);
  CAF_CHECK_EQUAL(finish_all(), 1u);
  auto j = job("a");
  CAF_CHECK_EQUAL(j["done"].get<int>(), 1);
  CAF_CHECK_EQUAL(j["dead"].get<int>(), 0);
}

CAF_TEST(purge drops dead letters) {
  add_job("a", {{"max_attempts", 1}});
  start();
  work = [](const task_call&, const json&) -> json {
    throw std::runtime_error("no");
  };
  emit("a-in", 1);
  emit("a-in", 2);
  finish_all();
  CAF_CHECK_EQUAL(job("a")["dead"].get<int>(), 2);
  auto r = ask<json>(tasks, atom::purge_v, std::string{"a"});
  CAF_CHECK_EQUAL(r["purged"].get<int>(), 2);
  CAF_CHECK_EQUAL(ask<json>(tasks, atom::dead_v, std::string{}).size(), 0u);
  auto err = ask_error<json>(tasks, atom::revive_v, std::string{"a:a-in::1"});
  CAF_CHECK_EQUAL(to_status_code(err), status_code::not_found);
}

CAF_TEST(pause holds deliveries and resume sends them) {
  add_job("a", {{"max_in_flight", 2}});
  start();
  ask<json>(tasks, atom::pause_v, std::string{"a"}, true);
  for (int i = 1; i <= 3; ++i)
    emit("a-in", i);
  wait(500ms);
  emit("a-in", 4); // newer: the oldest age stays the first three's
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
  auto j = job("a");
  CAF_CHECK_EQUAL(j["queued"].get<int>(), 4);
  CAF_CHECK_EQUAL(j["paused_by"][0].get<std::string>(), "operator");
  CAF_CHECK_GREATER_OR_EQUAL(j["oldest_age_ms"].get<int64_t>(), 500);
  CAF_CHECK_LESS(j["oldest_age_ms"].get<int64_t>(), 600);
  ask<json>(tasks, atom::pause_v, std::string{"a"}, false);
  CAF_CHECK_EQUAL(runner->waiting(), 2u); // max_in_flight
  finish_all();
  finish_all();
  auto done = job("a");
  CAF_CHECK_EQUAL(done["done"].get<int>(), 4);
  CAF_CHECK_EQUAL(done["oldest_age_ms"].get<int64_t>(), 0);
}

CAF_TEST(a job under pressure holds its upstream events until it drains) {
  // a -> b; b holds at most 2 queued tasks.
  add_job("a", {{"outputs", {"b-in"}}});
  add_job("b", {{"max_queue_depth", 2}});
  start();
  ask<json>(tasks, atom::pause_v, std::string{"b"}, true);
  for (int i = 1; i <= 3; ++i)
    emit("a-in", i);
  finish_all(); // a's three tasks succeed: b has 3 queued, over its bound
  wait(200ms);
  CAF_CHECK_EQUAL(job("b")["under_pressure"].get<bool>(), true);
  auto held = emit("a-in", 4);
  CAF_CHECK_EQUAL(held["held"].get<int>(), 1);
  auto a = job("a");
  CAF_CHECK_EQUAL(a["held"].get<int>(), 1);
  CAF_CHECK_EQUAL(a["paused_by"][0].get<std::string>(),
                  "backpressure from b");
  CAF_CHECK_EQUAL(runner->waiting(), 0u);
  // b drains: the kept event becomes a task, and everything completes.
  ask<json>(tasks, atom::pause_v, std::string{"b"}, false);
  finish_all();
  wait(200ms);
  finish_all();
  finish_all();
  CAF_CHECK_EQUAL(job("a")["held"].get<int>(), 0);
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 4);
  CAF_CHECK_EQUAL(job("b")["done"].get<int>(), 4);
}

CAF_TEST(backfill waits while a job is under pressure and normal flows) {
  add_job("slow", {{"max_queue_depth", 1}});
  add_job("fill", {{"priority", "backfill"}, {"inputs", {"fill-in"}}});
  add_job("norm", {{"inputs", {"norm-in"}}});
  start();
  ask<json>(tasks, atom::pause_v, std::string{"slow"}, true);
  emit("slow-in", 1);
  emit("slow-in", 2);
  wait(200ms); // slow is over its bound
  emit("fill-in", 1);
  emit("norm-in", 1);
  finish_all();
  CAF_REQUIRE_EQUAL(calls.size(), 1u);
  CAF_CHECK_EQUAL(calls[0].job, "norm");
  CAF_CHECK_EQUAL(job("fill")["backfill_held"].get<int>(), 1);
  ask<json>(tasks, atom::pause_v, std::string{"slow"}, false);
  finish_all();
  wait(200ms); // pressure cleared: backfill goes
  finish_all();
  CAF_CHECK_EQUAL(job("fill")["done"].get<int>(), 1);
}

CAF_TEST(a restarted dispatcher delivers leased tasks again) {
  add_job("a");
  start();
  emit("a-in", 1);
  CAF_CHECK_EQUAL(runner->waiting(), 1u); // leased, never answered
  stop({tasks});
  runner = std::make_shared<test::manual_runner>(); // the old runs are lost
  start();
  CAF_CHECK_EQUAL(runner->waiting(), 1u);
  finish_all();
  CAF_REQUIRE_EQUAL(calls.size(), 1u);
  CAF_CHECK_EQUAL(calls[0].attempt, 2u);
  auto list = ask<json>(tasks, atom::tasks_v, json{{"job", "a"}});
  CAF_CHECK_EQUAL(list[0]["state"].get<std::string>(), "done");
  CAF_CHECK_EQUAL(list[0]["history"][0]["status"].get<std::string>(),
                  "interrupted");
}

CAF_TEST(done tasks leave the store after their retention and stay counted) {
  add_job("a");
  done_retention = std::chrono::seconds{5};
  start();
  for (int64_t c = 1; c <= 3; ++c)
    emit("a-in", c);
  CAF_CHECK_EQUAL(finish_all(), 3u);
  auto done_rows = [&] {
    return ask<json>(tasks, atom::tasks_v,
                     json{{"job", "a"}, {"state", "done"}})
      .size();
  };
  CAF_CHECK_EQUAL(done_rows(), 3u);
  wait(4s); // younger than 5 s: kept
  CAF_CHECK_EQUAL(done_rows(), 3u);
  // Pruned within a retention of their age (checked every 5 s here).
  CAF_CHECK(wait_until([&] { return done_rows() == 0; }, 7s));
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 3);
  CAF_CHECK_EQUAL(ask<json>(tasks, atom::stats_v)["pruned"].get<int>(), 3);
  stop({tasks}); // the count is the store's, not the dispatcher's memory
  start();
  CAF_CHECK_EQUAL(job("a")["done"].get<int>(), 3);
  CAF_CHECK_EQUAL(done_rows(), 0u);
}

CAF_TEST(bad job files are reported and a reload keeps the last good) {
  add_job("a");
  dir.write("jobs/bad.json", R"({"id": "bad", "runtime": "nope", "target": "x",
                                 "inputs": ["x"]})");
  start();
  auto list = ask<json>(tasks, atom::jobs_v);
  CAF_CHECK_EQUAL(list["jobs"].size(), 1u);
  CAF_REQUIRE_EQUAL(list["failed"].size(), 1u);
  CAF_CHECK(list["failed"][0]["error"].get<std::string>().find("nope")
            != std::string::npos);
  dir.write("jobs/a.json", "{ not json");
  auto report = ask<json>(tasks, atom::reload_v);
  CAF_CHECK_EQUAL(report["kept"].size(), 1u);
  CAF_CHECK_EQUAL(emit("a-in", 1)["created"].get<int>(), 1);
}

CAF_TEST(a lease longer than the longest deadline of the node is a warning) {
  // A mesh job that set a long lease: its calls end at 60 s all the same.
  add_job("a", {{"runtime", "mesh"}, {"target", "a/S/M"}, {"lease_ms", 600000}});
  // The default lease (300 s) is nobody's intent; a function kind runs
  // unbounded, so its lease is the only bound and means what it says.
  json quiet{{"id", "b"}, {"runtime", "mesh"}, {"target", "b/S/M"},
             {"inputs", {"b-in"}}};
  dir.write("jobs/b.json", quiet.dump());
  add_job("c", {{"lease_ms", 600000}});
  // A runtime's lease counts as set; a job file's shorter one wins over it.
  runtimes = {{"slow", {{"kind", "process"}, {"lease_ms", 900000}}}};
  json d{{"id", "d"}, {"runtime", "slow"}, {"target", "p"},
         {"inputs", {"d-in"}}};
  dir.write("jobs/d.json", d.dump());
  add_job("e", {{"runtime", "slow"}, {"target", "p"}, {"lease_ms", 30000}});
  start();
  auto report = ask<json>(tasks, atom::reload_v);
  CAF_REQUIRE_EQUAL(report["warnings"].size(), 2u);
  CAF_CHECK_EQUAL(report["warnings"][0]["job"].get<std::string>(), "a");
  CAF_CHECK_EQUAL(report["warnings"][0]["text"].get<std::string>(),
                  "job a: lease_ms 600000 (the job file) is longer than "
                  "limits.max_deadline_ms 60000: each attempt's call is cut "
                  "at 60000 ms");
  CAF_CHECK_EQUAL(report["warnings"][1]["text"].get<std::string>(),
                  "job d: lease_ms 900000 (runtime slow) is longer than "
                  "limits.max_deadline_ms 60000: each attempt's call is cut "
                  "at 60000 ms");
  // Still loaded: a warning, not a refusal.
  CAF_CHECK_EQUAL(ask<json>(tasks, atom::jobs_v)["jobs"].size(), 5u);
}

CAF_TEST_FIXTURE_SCOPE_END()
