#define CAF_SUITE cluster.tasks
#include "check.hpp"

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "task_cluster.hpp"

// Durable tasks across real nodes, the flows that work: a chain of jobs
// whose queue node is killed with SIGKILL mid-stream, backpressure from a
// slow job, and backfill waiting while a job is under pressure. Failures
// (dead letters, heartbeats, bad job files) are in tasks_failures_test.cpp.
//
// The node holding a queue runs no handlers of its own (MESH_TEST_TASKS=none)
// and declares the namespaces of its jobs' targets, like a gateway: the
// router only sends a request to a peer that shares its namespace.

using namespace mesh::test;
using nlohmann::json;

CAF_TEST(a chain of three jobs across three nodes survives kill -9 of the queue node) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("A", "stepa/Step/Run", {"raw"}, {"mid"}),
          mesh_job("B", "stepb/Step/Run", {"mid"}, {"late"}),
          mesh_job("C", "sink/Sink/Count", {"late"})});
  auto n2 = start_node(dir, "n2", "stepa");
  auto n3 = start_node(dir, "n3", "stepb,sink");
  std::vector<std::string> queue_args{
    "--jobs", jobs, "--namespaces", "stepa,stepb,sink", "--seeds",
    n2->listen() + "," + n3->listen()};
  // Its data dir is "data-n1" under `dir`: the same for the restarted node.
  auto n1 = start_node(dir, "n1", "none", queue_args);
  CAF_REQUIRE(await_condition([&] { return sees(n1->http(), {"n2", "n3"}); }));
  constexpr int chunks = 10;
  constexpr int per_chunk = 1000;
  constexpr int total = chunks * per_chunk;
  uint64_t created = 0;
  int re_emitted = 0;
  std::string recovered_line;
  int64_t recovered = -1;
  for (int c = 0; c < chunks; ++c) {
    if (c == 5) {
      auto before = jobs_of(n1->http());
      CAF_MESSAGE("before the kill: A " << brief(before["A"]) << ", B "
                                        << brief(before["B"]) << ", C "
                                        << brief(before["C"]));
      auto pid = n1->pid();
      n1->kill_hard(); // SIGKILL, then reaped
      CAF_REQUIRE(!n1->running());
      CAF_MESSAGE("n1 (pid " << pid << ") killed with SIGKILL after " << c
                             << " chunks");
      n1 = start_node(dir, "n1", "none", queue_args);
      CAF_REQUIRE(
        await_condition([&] { return sees(n1->http(), {"n2", "n3"}); }));
      std::smatch m;
      auto log = n1->log();
      static const std::regex leased_re{
        R"(task store [^\n]*: (\d+) open tasks \((\d+) leased at the last stop)"};
      if (std::regex_search(log, m, leased_re)) {
        recovered_line = m.str(0);
        recovered = std::stoll(m.str(2));
      }
      MESH_CHECK_MSG(recovered >= 0,
                     "the restarted n1 did not say what it recovered:\n"
                       << log);
      CAF_MESSAGE("restarted n1: " << recovered_line);
    }
    auto cursor = std::to_string(1 + c * per_chunk);
    // Emitted again until answered: dedupe makes a repeat harmless.
    json answer;
    for (int attempt = 0; attempt < 5 && answer.is_null(); ++attempt) {
      auto r = meshctl(n1->http(), {"emit", "raw", "--cursor", cursor,
                                       "--count", std::to_string(per_chunk)});
      auto doc = json::parse(r.out, nullptr, false);
      if (r.exit_code == 0 && !doc.is_discarded() && doc.value("ok", false))
        answer = doc["result"];
      else
        CAF_MESSAGE("emit of chunk " << c << " not answered (exit "
                                     << r.exit_code << "): " << r.out << r.err);
      if (attempt > 0)
        ++re_emitted;
    }
    CAF_REQUIRE(!answer.is_null());
    created += count(answer, "created");
    CAF_CHECK_EQUAL(count(answer, "held"), 0u);
  }
  CAF_MESSAGE(total << " events emitted in " << ms_since(start) << " ms ("
                    << re_emitted << " chunk emits repeated)");
  // Every answered chunk was committed before its answer: the crash lost
  // none of them (a repeated chunk counts once, created or skipped).
  CAF_CHECK_EQUAL(created, static_cast<uint64_t>(total));
  // Every C task delivered at least once...
  json sink;
  // Judged on progress (CI runs this beside other suites on two cores):
  // nothing sunk for 60 s is a stall; 180 s in all is too long.
  bool all_sunk = await_progress(
    [&] {
      sink = report_of(n3->http(), "sink");
      return count(sink, "unique");
    },
    total, 60s, 180s);
  MESH_CHECK_MSG(all_sunk, "sink report: " << sink.dump());
  // ... and every task of every job done exactly once in the store's eyes.
  json view;
  bool all_done = await_condition(
    [&] {
      view = jobs_of(n1->http());
      if (view.is_null())
        return false;
      for (const char* id : {"A", "B", "C"})
        if (count(view[id], "done") != total || open_tasks(view[id]) != 0)
          return false;
      return true;
    },
    30s);
  MESH_CHECK_MSG(all_done, "jobs: " << view.dump());
  for (const char* id : {"A", "B", "C"}) {
    CAF_MESSAGE("job " << id << ": " << brief(view[id]));
    CAF_CHECK_EQUAL(count(view[id], "done"), static_cast<uint64_t>(total));
    CAF_CHECK_EQUAL(open_tasks(view[id]), 0u);
    CAF_CHECK_EQUAL(count(view[id], "dead"), 0u);
  }
  // What the failed attempts were (a restarted queue node starts delivering
  // before it has rejoined its peers: those attempts fail with not_found).
  for (const char* id : {"A", "B", "C"}) {
    auto done = meshctl_json(n1->http(), {"tasks", id, "--state", "done",
                                             "--limit", "100000"});
    std::map<std::string, int> kinds;
    for (const auto& t : done["result"])
      for (const auto& h : t["history"])
        ++kinds[h["status"].get<std::string>() + " attempt "
                + std::to_string(h["attempt"].get<int>()) + ": "
                + h["error"].get<std::string>()];
    for (const auto& [k, n] : kinds)
      CAF_MESSAGE("job " << id << " failed attempts: " << n << " x " << k);
  }
  auto stepa = report_of(n2->http(), "stepa");
  auto stepb = report_of(n3->http(), "stepb");
  CAF_CHECK_EQUAL(count(stepa, "unique"), static_cast<uint64_t>(total));
  CAF_CHECK_EQUAL(count(stepb, "unique"), static_cast<uint64_t>(total));
  auto dups = count(stepa, "duplicates") + count(stepb, "duplicates")
              + count(sink, "duplicates");
  CAF_MESSAGE("duplicates: stepa " << count(stepa, "duplicates") << ", stepb "
                                   << count(stepb, "duplicates") << ", sink "
                                   << count(sink, "duplicates")
                                   << "; max attempt: stepa "
                                   << count(stepa, "max_attempt") << ", stepb "
                                   << count(stepb, "max_attempt") << ", sink "
                                   << count(sink, "max_attempt"));
  if (recovered > 0)
    CAF_MESSAGE(recovered << " tasks were leased at the kill; "
                          << (dups > 0 ? "tasks were delivered again after "
                                         "the crash ("
                                           + std::to_string(dups)
                                           + " duplicate deliveries)"
                                       : std::string{"no handler saw a task "
                                                     "twice"}));
  else
    CAF_MESSAGE("no task was leased at the kill");
  CAF_MESSAGE("chain of " << total << " events x 3 jobs done in "
                          << ms_since(start) << " ms");
}

CAF_TEST(a slow job pauses its upstream and once it catches up every event has become a task) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("A", "stepa/Step/Run", {"raw"}, {"mid"}),
          mesh_job("S", "slow/Slow/Run", {"mid"}, {},
                   {{"max_in_flight", 1}, {"max_queue_depth", 20}})});
  auto node = start_node(dir, "p", "stepa,slow", {"--jobs", jobs});
  auto http = node->http();
  // S is held by its operator until the second emit is in: however slow
  // or fast this machine is, its queue stays over the bound meanwhile.
  meshctl_json(http, {"job", "pause", "S"});
  auto first = meshctl_json(http, {"emit", "raw", "--cursor", "1", "--count",
                                      "100", "--payload", R"({"ms":10})"});
  CAF_CHECK_EQUAL(count(first["result"], "created"), 100u);
  json view;
  bool paused = await_condition([&] {
    view = jobs_of(http);
    return !view.is_null()
           && (contains_text(view["A"]["paused_by"], "backpressure from S")
               || count(view["A"], "held") > 0);
  });
  MESH_CHECK_MSG(paused, "jobs: " << view.dump());
  CAF_MESSAGE("A " << brief(view["A"]) << "; S " << brief(view["S"]));
  CAF_CHECK(view["S"].value("under_pressure", false));
  // While A is paused, its events are kept as held tasks.
  auto second = meshctl_json(http, {"emit", "raw", "--cursor", "101",
                                       "--count", "50", "--payload",
                                       R"({"ms":10})"});
  CAF_MESSAGE("second emit: " << second["result"].dump());
  CAF_CHECK_EQUAL(count(second["result"], "created"), 50u);
  CAF_CHECK_EQUAL(count(second["result"], "held"), 50u);
  meshctl_json(http, {"job", "resume", "S"});
  bool drained = await_condition(
    [&] {
      view = jobs_of(http);
      return !view.is_null() && count(view["A"], "done") == 150
             && count(view["S"], "done") == 150 && open_tasks(view["A"]) == 0
             && open_tasks(view["S"]) == 0;
    },
    60s);
  MESH_CHECK_MSG(drained, "jobs: " << view.dump());
  for (const char* id : {"A", "S"}) {
    CAF_CHECK_EQUAL(count(view[id], "held"), 0u);
    CAF_CHECK_EQUAL(count(view[id], "dead"), 0u);
    CAF_CHECK_EQUAL(count(view[id], "created"), 150u);
    CAF_CHECK(!view[id].value("paused", true));
  }
  auto slow = report_of(http, "slow");
  CAF_CHECK_EQUAL(count(slow, "unique"), 150u);
  CAF_MESSAGE("slow report " << slow.dump() << "; took " << ms_since(start)
                             << " ms");
}

CAF_TEST(backfill waits while normal flows) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("S", "slow/Slow/Run", {"mid"}, {},
                   {{"max_in_flight", 1}, {"max_queue_depth", 20}}),
          mesh_job("BF", "sink/Sink/Count", {"bf"}, {},
                   {{"priority", "backfill"}}),
          mesh_job("N", "stepa/Step/Run", {"n"})});
  auto node = start_node(dir, "bf", "stepa,slow,sink", {"--jobs", jobs});
  auto http = node->http();
  // Fill S (100 tasks of 30 ms, one at a time) and hold it (its operator
  // pauses it) so that it stays under pressure, a queue above 20, until the
  // checks below are done, however loaded the machine.
  meshctl_json(http, {"job", "pause", "S"});
  meshctl_json(http, {"emit", "mid", "--cursor", "1", "--count", "100",
                         "--payload", R"({"ms":30})"});
  json view;
  bool pressured = await_condition([&] {
    view = jobs_of(http);
    return !view.is_null() && view["S"].value("under_pressure", false);
  });
  MESH_CHECK_MSG(pressured, "jobs: " << view.dump());
  auto bf = meshctl_json(http, {"emit", "bf", "--cursor", "1", "--count",
                                   "20"});
  auto n = meshctl_json(http, {"emit", "n", "--cursor", "1", "--count",
                                  "20"});
  CAF_CHECK_EQUAL(count(bf["result"], "created"), 20u);
  CAF_CHECK_EQUAL(count(n["result"], "created"), 20u);
  bool normal_done = await_condition([&] {
    view = jobs_of(http);
    return !view.is_null() && count(view["N"], "done") == 20;
  });
  MESH_CHECK_MSG(normal_done, "jobs: " << view.dump());
  CAF_MESSAGE("N done: S " << brief(view["S"]) << "; BF " << brief(view["BF"]));
  // The same snapshot: S still under pressure, backfill not delivered.
  MESH_CHECK_MSG(view["S"].value("under_pressure", false),
                 "S drained before N was done: " << brief(view["S"]));
  CAF_CHECK_EQUAL(count(view["BF"], "done"), 0u);
  CAF_CHECK_GREATER(count(view["BF"], "backfill_held"), 0u);
  CAF_CHECK_EQUAL(count(view["BF"], "leased"), 0u);
  meshctl_json(http, {"job", "resume", "S"});
  bool backfill_done = await_condition(
    [&] {
      view = jobs_of(http);
      return !view.is_null() && count(view["BF"], "done") == 20;
    },
    60s);
  MESH_CHECK_MSG(backfill_done, "jobs: " << view.dump());
  CAF_MESSAGE("BF done: S " << brief(view["S"]) << "; BF " << brief(view["BF"]));
  // Backfill ran once the pressure cleared (S below 80 % of its depth).
  CAF_CHECK(!view["S"].value("under_pressure", true));
  CAF_CHECK_EQUAL(count(view["BF"], "backfill_held"), 0u);
  CAF_CHECK_EQUAL(count(report_of(http, "sink"), "unique"), 20u);
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(done tasks leave the store after the retention and stay counted) {
  temp_dir dir;
  auto jobs = write_jobs(dir, {mesh_job("A", "stepa/Step/Run", {"raw"})});
  auto cfg = dir.write("node.json", R"({"tasks": {"done_retention_s": 1}})");
  auto node = start_node(dir, "r", "stepa", {"--config", cfg, "--jobs", jobs});
  auto http = node->http();
  auto emitted = meshctl_json(http, {"emit", "raw", "--cursor", "1", "--count",
                                     "20"});
  CAF_CHECK_EQUAL(count(emitted["result"], "created"), 20u);
  json view;
  CAF_CHECK(await_condition([&] {
    view = jobs_of(http);
    return count(view["A"], "done") == 20;
  }));
  // Gone from the store within about two retentions (checked once per
  // retention when it is under a minute).
  json listed;
  bool pruned = await_condition([&] {
    listed = meshctl_json(http, {"tasks", "A", "--state", "done"});
    return listed["result"].is_array() && listed["result"].empty();
  });
  MESH_CHECK_MSG(pruned, "done tasks: " << listed["result"].size());
  auto all = meshctl_json(http, {"jobs"})["result"];
  CAF_CHECK_EQUAL(all["done_retention_s"], 1);
  CAF_CHECK_EQUAL(count(all, "pruned"), 20u);
  CAF_CHECK_EQUAL(count(jobs_of(http)["A"], "done"), 20u);
  CAF_CHECK(node->log().find("done tasks older than 1 s removed from the store")
            != std::string::npos);
}

CAF_TEST(a stored task that cannot be read is reported and the others run) {
  temp_dir dir;
  auto node = start_node_with_damaged_task(dir);
  auto db = dir.file("data-u/tasks-u.db");
  auto http = node->http();
  auto row = jobs_of(http)["A"];
  CAF_CHECK_EQUAL(count(row, "unreadable"), 1u);
  CAF_CHECK_EQUAL(count(row, "queued"), 2u);
  auto human = meshctl(http, {"jobs"}, true);
  CAF_CHECK(human.out.find("unreadable: 1 stored task(s) of job A cannot be "
                           "read")
            != std::string::npos);
  CAF_CHECK(node->log().find(db + ": task A:raw::2: bad payload")
            != std::string::npos);
  // meshctl tasks lists the row for what it is, with the store's reason.
  auto listed = meshctl_json(http, {"tasks", "A"})["result"];
  CAF_REQUIRE(listed.is_array());
  CAF_CHECK_EQUAL(listed.size(), 3u);
  json bad;
  for (const auto& t : listed)
    if (t.value("state", "") == "unreadable")
      bad = t;
  CAF_CHECK_EQUAL(bad.value("id", ""), "A:raw::2");
  CAF_CHECK_EQUAL(bad.value("job", ""), "A");
  MESH_CHECK_MSG(bad.value("error", "").find("bad payload") != std::string::npos,
                 bad.dump());
  auto table = meshctl(http, {"tasks", "A"}, true).out;
  MESH_CHECK_MSG(table.find("A:raw::2") != std::string::npos
                   && table.find("unreadable") != std::string::npos
                   && table.find("bad payload") != std::string::npos,
                 table);
  CAF_CHECK(node->log().find("left in the store and not delivered")
            != std::string::npos);
  // The others run; the damaged row stays as it was.
  CAF_REQUIRE_EQUAL(meshctl(http, {"job", "resume", "A"}).exit_code, 0);
  CAF_CHECK(await_condition([&] { return count(jobs_of(http)["A"], "done") == 2; }));
  CAF_CHECK_EQUAL(raw_sql(db, "SELECT payload || state FROM tasks "
                              "WHERE cursor = 2"),
                  "{queued");
}
