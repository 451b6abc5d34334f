#define CAF_SUITE cluster.tasks_failures
#include "check.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "task_cluster.hpp"

// Durable tasks across real nodes when things go wrong: dead letters and
// their retry, heartbeats from another node keeping a short lease alive (and
// a lease running out without them), job files that fail to load, and the
// topic side: messages routed into an emit dispatcher become tasks, and an
// emit dispatcher without a jobs folder is refused.

using namespace mesh::test;
using nlohmann::json;

CAF_TEST(a handler that always fails ends in dead letters and retry brings one back) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("f", "fail/Always/Fail", {"bad"}, {},
                   {{"max_attempts", 3},
                    {"retry", {{"initial_ms", 50}, {"max_ms", 200},
                               {"jitter", 0}}}})});
  auto node = start_node(dir, "w", "fail", {"--jobs", jobs});
  auto http = node->http();
  auto emitted = meshctl_json(http, {"emit", "bad", "--cursor", "1",
                                        "--count", "2"});
  CAF_CHECK_EQUAL(count(emitted["result"], "created"), 2u);
  json dead;
  auto dead_letters = [&](size_t n, size_t history) {
    return await_condition([&] {
      auto r = meshctl(http, {"dead-letters", "f"});
      auto doc = json::parse(r.out, nullptr, false);
      if (r.exit_code != 0 || doc.is_discarded())
        return false;
      dead = doc["result"];
      if (!dead.is_array() || dead.size() != n)
        return false;
      for (const auto& t : dead)
        if (t["history"].size() != history)
          return false;
      return true;
    });
  };
  MESH_CHECK_MSG(dead_letters(2, 3), "dead letters: " << dead.dump(2));
  CAF_REQUIRE(dead.size() == 2);
  for (const auto& t : dead) {
    CAF_CHECK_EQUAL(t["state"], "dead");
    CAF_CHECK_EQUAL(t["attempts"], 3);
    uint32_t n = 0;
    for (const auto& h : t["history"]) {
      CAF_CHECK_EQUAL(h["attempt"], ++n);
      MESH_CHECK_MSG(h["error"].get<std::string>().find("failed on purpose")
                       != std::string::npos,
                     "error: " << h["error"]);
      CAF_CHECK_EQUAL(h["node"], "w");
    }
  }
  auto report = report_of(http, "fail");
  CAF_CHECK_EQUAL(count(report, "deliveries"), 6u);
  CAF_CHECK_EQUAL(count(report, "unique"), 2u);
  auto view = jobs_of(http);
  CAF_CHECK_EQUAL(count(view["f"], "dead"), 2u);
  CAF_CHECK_EQUAL(count(view["f"], "failures"), 6u);
  // Retry one: three more attempts, then a dead letter again with all six.
  auto id = dead[0]["id"].get<std::string>();
  auto revived = meshctl_json(http, {"dead-letter", "retry", id});
  CAF_CHECK_EQUAL(revived["result"]["id"], id);
  bool redelivered = await_condition([&] {
    report = report_of(http, "fail");
    return count(report, "deliveries") == 9;
  });
  MESH_CHECK_MSG(redelivered, "fail report: " << report.dump());
  bool dead_again = await_condition([&] {
    auto r = meshctl(http, {"dead-letters", "f"});
    auto doc = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || doc.is_discarded())
      return false;
    dead = doc["result"];
    for (const auto& t : dead)
      if (t["id"] == id)
        return t["history"].size() == 6;
    return false;
  });
  MESH_CHECK_MSG(dead_again, "dead letters: " << dead.dump(2));
  CAF_CHECK_EQUAL(dead.size(), 2u);
  CAF_CHECK_EQUAL(count(report_of(http, "fail"), "unique"), 2u);
  // Purge: nothing left.
  auto purged = meshctl_json(http, {"dead-letter", "purge", "f"});
  CAF_CHECK_EQUAL(count(purged["result"], "purged"), 2u);
  auto after = meshctl_json(http, {"dead-letters", "f"});
  CAF_CHECK(after["result"].is_array() && after["result"].empty());
  // An unknown id is not found.
  auto unknown = meshctl_json(http,
                              {"dead-letter", "retry", "f:bad::404"}, 1);
  CAF_CHECK_EQUAL(unknown["status"], "not_found");
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(ctx.heartbeat from another node keeps a short lease alive) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("hb", "beat/Beat/Run", {"hb"}, {},
                   {{"lease_ms", 500}, {"heartbeat_ms", 300}}),
          mesh_job("nohb", "slow/Slow/Run", {"nohb"}, {},
                   {{"lease_ms", 300},
                    {"max_attempts", 5},
                    {"retry", {{"initial_ms", 50}, {"max_ms", 100}}}})});
  auto n2 = start_node(dir, "n2", "beat,slow");
  auto n1 = start_node(dir, "n1", "none",
                       {"--jobs", jobs, "--namespaces", "beat,slow",
                        "--seeds", n2->listen()});
  CAF_REQUIRE(await_condition([&] { return sees(n1->http(), {"n2"}); }));
  meshctl_json(n1->http(), {"emit", "hb", "--cursor", "1", "--payload",
                               R"({"ms":1500})"});
  json view;
  bool done = await_condition([&] {
    view = jobs_of(n1->http());
    return !view.is_null()
           && (count(view["hb"], "done") == 1 || count(view["hb"], "dead") == 1);
  });
  MESH_CHECK_MSG(done, "jobs: " << view.dump());
  CAF_MESSAGE("hb: " << brief(view["hb"]));
  CAF_CHECK_EQUAL(count(view["hb"], "done"), 1u);
  CAF_CHECK_EQUAL(count(view["hb"], "expired_leases"), 0u);
  CAF_CHECK_EQUAL(count(view["hb"], "failures"), 0u);
  auto beat = report_of(n2->http(), "beat");
  CAF_CHECK_EQUAL(count(beat, "deliveries"), 1u);
  if (count(view["hb"], "done") != 1 || count(beat, "deliveries") != 1) {
    auto tasks = meshctl_json(n1->http(), {"tasks", "hb"});
    CAF_MESSAGE("hb tasks: " << tasks["result"].dump());
  }
  // The control: no heartbeats, the 300 ms lease runs out under an 800 ms
  // handler.
  meshctl_json(n1->http(), {"emit", "nohb", "--cursor", "1", "--payload",
                               R"({"ms":800})"});
  // Awaited until the lease has run out once, or every attempt is used up.
  bool settled = await_condition([&] {
    view = jobs_of(n1->http());
    return !view.is_null()
           && (count(view["nohb"], "expired_leases") >= 1
               || count(view["nohb"], "dead") == 1);
  });
  MESH_CHECK_MSG(settled, "nohb: " << brief(view["nohb"]));
  CAF_CHECK_GREATER_OR_EQUAL(count(view["nohb"], "expired_leases"), 1u);
  CAF_CHECK_EQUAL(count(view["nohb"], "done"), 0u);
  CAF_MESSAGE("nohb: " << brief(view["nohb"]));
  auto tasks = meshctl_json(n1->http(), {"tasks", "nohb"});
  if (tasks["result"].is_array() && !tasks["result"].empty())
    CAF_MESSAGE("nohb history: " << tasks["result"][0]["history"].dump());
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(bad job files are reported each with its file and pointer) {
  auto start = clock_type::now();
  temp_dir dir;
  auto folder = write_jobs(dir, {mesh_job("good", "stepa/Step/Run", {"raw"})});
  std::map<std::string, std::string> bad{
    {"invalid.json", "/"},
    {"runtime.json", "/runtime"},
    {"target.json", "/target"},
    {"unknown.json", "/colour"}};
  dir.write("jobs/invalid.json", R"({"id": "invalid", "runtime": )");
  dir.write("jobs/runtime.json",
            mesh_job("runtime", "stepa/Step/Run", {"raw"}, {},
                     {{"runtime", "warp-drive"}})
              .dump());
  dir.write("jobs/target.json",
            mesh_job("target", "not-a-path", {"raw"}).dump());
  dir.write("jobs/unknown.json", mesh_job("unknown", "stepa/Step/Run", {"raw"},
                                          {}, {{"colour", "blue"}})
                                   .dump());
  auto node = start_node(dir, "j", "stepa", {"--jobs", folder});
  auto doc = meshctl_json(node->http(), {"jobs"});
  const auto& result = doc["result"];
  std::vector<std::string> ids;
  for (const auto& j : result["jobs"])
    ids.push_back(j["id"]);
  CAF_CHECK_EQUAL(ids, std::vector<std::string>{"good"});
  CAF_CHECK_EQUAL(result["failed"].size(), bad.size());
  for (const auto& [name, pointer] : bad) {
    auto path = folder + "/" + name;
    bool found = false;
    for (const auto& f : result["failed"]) {
      if (f["file"] != path)
        continue;
      found = true;
      auto error = f["error"].get<std::string>();
      MESH_CHECK_MSG(error.find(path + ": " + pointer) != std::string::npos,
                     name << ": the error does not name the file and "
                          << pointer << ": " << error);
      CAF_MESSAGE(error);
    }
    MESH_CHECK_MSG(found, "no failure for " << path << ": "
                                            << result["failed"].dump(2));
  }
  auto reload = meshctl_json(node->http(), {"jobs", "reload"}, 1);
  CAF_CHECK_EQUAL(reload["ok"], false);
  CAF_MESSAGE("jobs reload: status " << reload["status"] << ", "
                                     << reload.value("error", ""));
  // A jobs folder that does not exist stops the node at start.
  auto missing = "/no/such/folder-" + std::to_string(::getpid());
  auto t0 = clock_type::now();
  auto r = run_program({bin("meshnode"), "--id", "x", "--listen",
                        "127.0.0.1:0", "--console", "127.0.0.1:0", "--http",
                        "127.0.0.1:0", "--plugin", task_plugin(),
                        "--data-dir", dir.file("data-x"),
                        "--jobs", missing},
                       20s);
  auto took = ms_since(t0);
  CAF_MESSAGE("meshnode --jobs " << missing << ": exit " << r.exit_code
                                 << " in " << took << " ms: " << r.err);
  CAF_CHECK(!r.timed_out);
  CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
  CAF_CHECK_LESS(took, 10000);
  MESH_CHECK_MSG(r.err.find(missing) != std::string::npos,
                 "stderr does not name the folder: " << r.err);
  CAF_CHECK(r.out.find("\"ready\"") == std::string::npos);
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(a mesh job leased longer than the longest deadline loads with a warning) {
  temp_dir dir;
  auto folder = write_jobs(
    dir, {mesh_job("long", "stepa/Step/Run", {"raw"}, {}, {{"lease_ms", 600000}}),
          mesh_job("plain", "stepa/Step/Run", {"other"})});
  auto node = start_node(dir, "w", "stepa",
                         {"--jobs", folder, "--log-level", "info"});
  std::string expected = "job long: lease_ms 600000 (the job file) is longer "
                         "than limits.max_deadline_ms 60000";
  MESH_CHECK_MSG(node->log().find(expected) != std::string::npos,
                 "the log does not warn: " << node->log());
  auto r = meshctl(node->http(), {"jobs", "reload"}, true);
  CAF_CHECK_EQUAL(r.exit_code, 0);
  MESH_CHECK_MSG(r.out.find("warning: " + expected) != std::string::npos,
                 "meshctl jobs reload does not warn: " << r.out);
  // One warning: the job on the default lease is not named.
  size_t warnings = 0;
  for (auto at = r.out.find("warning:"); at != std::string::npos;
       at = r.out.find("warning:", at + 1))
    ++warnings;
  CAF_CHECK_EQUAL(warnings, 1u);
  CAF_CHECK_EQUAL(jobs_of(node->http()).size(), 2u);
}

CAF_TEST(a topic route into an emit dispatcher turns messages into tasks) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(dir, {json{{"id", "t"},
                                    {"runtime", "mesh"},
                                    {"target", "sink/Sink/Count"},
                                    {"inputs", {"orders"}}}});
  json topics{
    {"dispatchers", json::array({{{"id", "to-tasks"},
                                  {"kind", "emit"},
                                  {"category", "event"},
                                  {"dataset", "orders"}}})},
    {"routes", json::array({{{"id", "r1"},
                             {"pattern", "orders.>"},
                             {"category", "event"},
                             {"dispatcher", "to-tasks"}}})}};
  // With --config the helper adds no peer or console address (only --http):
  // ephemeral ports here, or the node would take the default ones.
  auto config = dir.write("emit.json",
                          json{{"listen", "127.0.0.1:0"},
                               {"console", "127.0.0.1:0"},
                               {"jobs", jobs},
                               {"topics", topics}}
                            .dump(2));
  auto node = start_node(dir, "e", "sink", {"--config", config});
  auto http = node->http();
  // A publish answers once its dispatchers ran, so the four events reach
  // the dispatcher in this order: the second cursor 2 is not past job t's
  // cursor (3) and must be skipped.
  for (int cursor : {1, 2, 3, 2}) {
    auto doc = meshctl_json(http, {"publish", "orders.eu.created",
                                      "--payload",
                                      json{{"cursor", cursor}}.dump()});
    CAF_CHECK_EQUAL(doc["status"], "ok");
    auto r = result_of(doc);
    CAF_CHECK_EQUAL(r["status"], "success");
    CAF_REQUIRE_EQUAL(r["dispatchers"].size(), 1u);
    CAF_CHECK_EQUAL(r["dispatchers"][0]["dispatcher_id"], "to-tasks");
    MESH_CHECK_MSG(r["dispatchers"][0]["status"] == "success",
                   "publish cursor " << cursor << ": " << r.dump());
  }
  json view;
  bool settled = await_condition([&] {
    view = jobs_of(http);
    return count(view["t"], "done") == 3 && count(view["t"], "skipped") == 1
           && open_tasks(view["t"]) == 0;
  });
  MESH_CHECK_MSG(settled, "jobs: " << view.dump());
  CAF_CHECK_EQUAL(count(view["t"], "done"), 3u);
  CAF_CHECK_EQUAL(count(view["t"], "skipped"), 1u);
  CAF_CHECK_EQUAL(count(view["t"], "created"), 3u);
  CAF_CHECK_EQUAL(count(view["t"], "dead"), 0u);
  // One task per distinct message, keyed by the message's cursor.
  auto done = meshctl_json(http, {"tasks", "t", "--state", "done"});
  std::set<std::string> ids;
  for (const auto& t : done["result"])
    ids.insert(t["id"].get<std::string>());
  CAF_CHECK_EQUAL(ids, (std::set<std::string>{"t:orders::1", "t:orders::2",
                                              "t:orders::3"}));
  json sink;
  bool sunk = await_condition([&] {
    sink = report_of(http, "sink");
    return count(sink, "unique") == 3;
  });
  MESH_CHECK_MSG(sunk, "sink report: " << sink.dump());
  CAF_CHECK_EQUAL(count(sink, "unique"), 3u);
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(an emit dispatcher without a jobs folder stops the node naming the folder) {
  temp_dir dir;
  json cfg{{"topics",
            {{"dispatchers", json::array({{{"id", "to-tasks"},
                                           {"kind", "emit"},
                                           {"category", "event"},
                                           {"dataset", "orders"}}})}}}};
  auto config = dir.write("no-jobs.json", cfg.dump(2));
  // Both the check and a real start refuse it, before anything listens.
  for (bool check_only : {true, false}) {
    std::vector<std::string> argv{bin("meshnode"), "--config", config,
                                  "--listen", "127.0.0.1:0", "--console",
                                  "127.0.0.1:0", "--http", "127.0.0.1:0",
                                  "--plugin", task_plugin(),
                                  "--data-dir", dir.file("data")};
    if (check_only)
      argv.emplace_back("--check-config");
    auto r = run_program(argv, 20s);
    CAF_MESSAGE((check_only ? "--check-config" : "start") << ": exit "
                                                          << r.exit_code << ": "
                                                          << r.err);
    CAF_CHECK(!r.timed_out);
    CAF_CHECK_NOT_EQUAL(r.exit_code, 0);
    MESH_CHECK_MSG(r.err.find("jobs folder") != std::string::npos,
                   "stderr does not mention the jobs folder: " << r.err);
    MESH_CHECK_MSG(r.err.find("/topics/dispatchers/0") != std::string::npos,
                   "stderr does not point at the dispatcher: " << r.err);
    CAF_CHECK(r.out.find("\"ready\"") == std::string::npos);
  }
}

CAF_TEST(a task dispatcher that crashes is restarted and loses no task) {
  // The node's supervisor restarts it from its store: tasks it had leased
  // are delivered again, queued ones go on, nothing ends dead.
  temp_dir dir;
  auto jobs = write_jobs(dir, {mesh_job("s", "slow/Slow/Run", {"s"}, {},
                                        {{"max_in_flight", 2}})});
  node_process n{{"--id", "n1", "--plugin", task_plugin(), "--data-dir",
                  dir.file("data"), "--jobs", jobs},
                 60s,
                 true,
                 {"MESH_TEST_TASKS=slow", "MESH_TEST_INJECT_FAILURES=1"}};
  // 20 tasks of 500 ms, two at a time: about 5 s of work, so some are
  // leased when the dispatcher is killed, even on a loaded machine.
  auto emitted = meshctl_json(n.http(), {"emit", "s", "--cursor", "1",
                                            "--count", "20", "--payload",
                                            R"({"ms": 500})"});
  CAF_REQUIRE_EQUAL(emitted["result"]["created"].get<int>(), 20);
  CAF_REQUIRE(await_condition(
    [&] { return count(jobs_of(n.http())["s"], "leased") > 0; }));
  auto killed = meshctl_json(n.http(),
                             {"inject_failure", "--actor", "task dispatcher"});
  CAF_CHECK_EQUAL(killed["result"]["killed"], "task dispatcher");
  CAF_REQUIRE(await_condition([&] {
    auto r = meshctl(n.http(), {"status"});
    auto status = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || status.is_discarded())
      return false;
    for (const auto& row : status["result"].value("actors", json::array()))
      if (row.value("name", "") == "task dispatcher")
        return row.value("restarts", 0) == 1
               && row.value("health", "") == "running";
    return false;
  }));
  CAF_REQUIRE(await_condition(
    [&] { return count(jobs_of(n.http())["s"], "done") == 20; }, 60s));
  auto row = jobs_of(n.http())["s"];
  CAF_CHECK_EQUAL(count(row, "dead"), 0u);
  CAF_CHECK_EQUAL(open_tasks(row), 0u);
  auto report = report_of(n.http(), "slow");
  CAF_CHECK_EQUAL(count(report, "unique"), 20u);
  CAF_MESSAGE("deliveries after the restart: " << report.dump());
  CAF_CHECK(n.log().find("the task dispatcher of node n1 runs again")
            != std::string::npos);
}
