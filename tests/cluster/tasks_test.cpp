#define CAF_SUITE cluster.tasks
#include "check.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

#include "process.hpp"
#include "temp_dir.hpp"

// Durable tasks across real nodes: a chain of jobs whose queue node is
// killed with SIGKILL mid-stream, dead letters and their retry,
// backpressure from a slow job, backfill waiting while a job is under
// pressure, heartbeats from another node keeping a short lease alive, and
// job files that fail to load.
//
// The node holding a queue runs no handlers of its own (MESH_TEST_TASKS=none)
// and declares the namespaces of its jobs' targets, like a gateway: the
// router only sends a request to a peer that shares its namespace.

using namespace mesh::test;
using nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

int64_t ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock_type::now() - start)
    .count();
}

const std::string plugin = bin("libmesh_test_tasks.so");

// A node serving the handler groups `groups` (MESH_TEST_TASKS).
std::unique_ptr<node_process>
start_node(const temp_dir& dir, const std::string& id,
           const std::string& groups, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--id",       id,
                                "--plugin",   plugin,
                                "--data-dir", dir.file("data-" + id),
                                "--heartbeat-interval-ms", "100",
                                "--heartbeat-misses", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<node_process>(args, 60s, true,
                                        std::vector<std::string>{
                                          "MESH_TEST_TASKS=" + groups});
}

// Writes one job file per job into dir/jobs; returns the folder.
std::string write_jobs(const temp_dir& dir, const std::vector<json>& jobs) {
  auto folder = dir.file("jobs");
  std::filesystem::create_directories(folder);
  for (const auto& j : jobs)
    dir.write("jobs/" + j["id"].get<std::string>() + ".json", j.dump(2));
  return folder;
}

json mesh_job(const std::string& id, const std::string& target,
              std::vector<std::string> inputs,
              std::vector<std::string> outputs = {}, json extra = {}) {
  json j{{"id", id},
         {"runtime", "mesh"},
         {"target", target},
         {"inputs", inputs},
         {"outputs", outputs}};
  if (extra.is_object())
    j.update(extra);
  return j;
}

// `meshctl jobs` as {id: row}; null when the node does not answer.
json jobs_of(const std::string& console) {
  auto r = meshctl(console, {"jobs"});
  auto doc = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded() || !doc.value("ok", false))
    return nullptr;
  json by_id = json::object();
  for (const auto& j : doc["result"]["jobs"])
    by_id[j["id"].get<std::string>()] = j;
  return by_id;
}

// The Report of handler group `group` at `console`: {deliveries, unique,
// duplicates, max_attempt}; null when there is no answer.
json report_of(const std::string& console, const std::string& group) {
  auto r = meshctl(console, {"dispatch", group, "Sink", "Report"});
  auto doc = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded() || !doc.value("ok", false))
    return nullptr;
  if (doc.contains("payload"))
    return doc["payload"];
  if (doc.contains("result") && doc["result"].contains("payload"))
    return doc["result"]["payload"];
  return nullptr;
}

uint64_t count(const json& doc, const std::string& key) {
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_number())
    return 0;
  return doc[key].get<uint64_t>();
}

// A job row's open tasks: queued, leased and held.
uint64_t open_tasks(const json& row) {
  return count(row, "queued") + count(row, "leased") + count(row, "held");
}

std::string brief(const json& row) {
  if (!row.is_object())
    return row.dump();
  json b = json::object();
  for (const char* k : {"queued", "held", "leased", "done", "dead", "created",
                        "skipped", "failures", "expired_leases", "paused_by",
                        "under_pressure", "backfill_held"})
    if (row.contains(k))
      b[k] = row[k];
  return b.dump();
}

bool contains_text(const json& list, const std::string& text) {
  if (!list.is_array())
    return false;
  for (const auto& x : list)
    if (x.is_string() && x.get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

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
  CAF_REQUIRE(await_condition([&] { return sees(n1->console(), {"n2", "n3"}); }));
  constexpr int chunks = 10;
  constexpr int per_chunk = 1000;
  constexpr int total = chunks * per_chunk;
  uint64_t created = 0;
  int re_emitted = 0;
  std::string recovered_line;
  int64_t recovered = -1;
  for (int c = 0; c < chunks; ++c) {
    if (c == 5) {
      auto before = jobs_of(n1->console());
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
        await_condition([&] { return sees(n1->console(), {"n2", "n3"}); }));
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
      auto r = meshctl(n1->console(), {"emit", "raw", "--cursor", cursor,
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
  bool all_sunk = await_condition(
    [&] {
      sink = report_of(n3->console(), "sink");
      return count(sink, "unique") == total;
    },
    90s);
  MESH_CHECK_MSG(all_sunk, "sink report: " << sink.dump());
  // ... and every task of every job done exactly once in the store's eyes.
  json view;
  bool all_done = await_condition(
    [&] {
      view = jobs_of(n1->console());
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
    auto done = meshctl_json(n1->console(), {"tasks", id, "--state", "done",
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
  auto stepa = report_of(n2->console(), "stepa");
  auto stepb = report_of(n3->console(), "stepb");
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

CAF_TEST(a handler that always fails ends in dead letters and retry brings one back) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("f", "fail/Always/Fail", {"bad"}, {},
                   {{"max_attempts", 3},
                    {"retry", {{"initial_ms", 50}, {"max_ms", 200},
                               {"jitter", 0}}}})});
  auto node = start_node(dir, "w", "fail", {"--jobs", jobs});
  auto console = node->console();
  auto emitted = meshctl_json(console, {"emit", "bad", "--cursor", "1",
                                        "--count", "2"});
  CAF_CHECK_EQUAL(count(emitted["result"], "created"), 2u);
  json dead;
  auto dead_letters = [&](size_t n, size_t history) {
    return await_condition([&] {
      auto r = meshctl(console, {"dead-letters", "f"});
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
  auto report = report_of(console, "fail");
  CAF_CHECK_EQUAL(count(report, "deliveries"), 6u);
  CAF_CHECK_EQUAL(count(report, "unique"), 2u);
  auto view = jobs_of(console);
  CAF_CHECK_EQUAL(count(view["f"], "dead"), 2u);
  CAF_CHECK_EQUAL(count(view["f"], "failures"), 6u);
  // Retry one: three more attempts, then a dead letter again with all six.
  auto id = dead[0]["id"].get<std::string>();
  auto revived = meshctl_json(console, {"dead-letter", "retry", id});
  CAF_CHECK_EQUAL(revived["result"]["id"], id);
  bool redelivered = await_condition([&] {
    report = report_of(console, "fail");
    return count(report, "deliveries") == 9;
  });
  MESH_CHECK_MSG(redelivered, "fail report: " << report.dump());
  bool dead_again = await_condition([&] {
    auto r = meshctl(console, {"dead-letters", "f"});
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
  CAF_CHECK_EQUAL(count(report_of(console, "fail"), "unique"), 2u);
  // Purge: nothing left.
  auto purged = meshctl_json(console, {"dead-letter", "purge", "f"});
  CAF_CHECK_EQUAL(count(purged["result"], "purged"), 2u);
  auto after = meshctl_json(console, {"dead-letters", "f"});
  CAF_CHECK(after["result"].is_array() && after["result"].empty());
  // An unknown id is not found.
  auto unknown = meshctl_json(console,
                              {"dead-letter", "retry", "f:bad::404"}, 1);
  CAF_CHECK_EQUAL(unknown["status"], "not_found");
  CAF_MESSAGE("took " << ms_since(start) << " ms");
}

CAF_TEST(a slow job pauses its upstream and once it catches up every event has become a task) {
  auto start = clock_type::now();
  temp_dir dir;
  auto jobs = write_jobs(
    dir, {mesh_job("A", "stepa/Step/Run", {"raw"}, {"mid"}),
          mesh_job("S", "slow/Slow/Run", {"mid"}, {},
                   {{"max_in_flight", 1}, {"max_queue_depth", 20}})});
  auto node = start_node(dir, "p", "stepa,slow", {"--jobs", jobs});
  auto console = node->console();
  auto first = meshctl_json(console, {"emit", "raw", "--cursor", "1", "--count",
                                      "100", "--payload", R"({"ms":10})"});
  CAF_CHECK_EQUAL(count(first["result"], "created"), 100u);
  json view;
  bool paused = await_condition([&] {
    view = jobs_of(console);
    return !view.is_null()
           && (contains_text(view["A"]["paused_by"], "backpressure from S")
               || count(view["A"], "held") > 0);
  });
  MESH_CHECK_MSG(paused, "jobs: " << view.dump());
  CAF_MESSAGE("A " << brief(view["A"]) << "; S " << brief(view["S"]));
  CAF_CHECK(view["S"].value("under_pressure", false));
  // While A is paused, its events are kept as held tasks.
  auto second = meshctl_json(console, {"emit", "raw", "--cursor", "101",
                                       "--count", "50", "--payload",
                                       R"({"ms":10})"});
  CAF_MESSAGE("second emit: " << second["result"].dump());
  CAF_CHECK_EQUAL(count(second["result"], "created"), 50u);
  CAF_CHECK_EQUAL(count(second["result"], "held"), 50u);
  bool drained = await_condition(
    [&] {
      view = jobs_of(console);
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
  auto slow = report_of(console, "slow");
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
  auto console = node->console();
  // Fill S: 100 tasks of 30 ms, one at a time, keep it under pressure (a
  // queue above 20, until below 16) for about 2.5 s.
  meshctl_json(console, {"emit", "mid", "--cursor", "1", "--count", "100",
                         "--payload", R"({"ms":30})"});
  json view;
  bool pressured = await_condition([&] {
    view = jobs_of(console);
    return !view.is_null() && view["S"].value("under_pressure", false);
  });
  MESH_CHECK_MSG(pressured, "jobs: " << view.dump());
  auto bf = meshctl_json(console, {"emit", "bf", "--cursor", "1", "--count",
                                   "20"});
  auto n = meshctl_json(console, {"emit", "n", "--cursor", "1", "--count",
                                  "20"});
  CAF_CHECK_EQUAL(count(bf["result"], "created"), 20u);
  CAF_CHECK_EQUAL(count(n["result"], "created"), 20u);
  bool normal_done = await_condition([&] {
    view = jobs_of(console);
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
  bool backfill_done = await_condition(
    [&] {
      view = jobs_of(console);
      return !view.is_null() && count(view["BF"], "done") == 20;
    },
    60s);
  MESH_CHECK_MSG(backfill_done, "jobs: " << view.dump());
  CAF_MESSAGE("BF done: S " << brief(view["S"]) << "; BF " << brief(view["BF"]));
  // Backfill ran once the pressure cleared (S below 80 % of its depth).
  CAF_CHECK(!view["S"].value("under_pressure", true));
  CAF_CHECK_EQUAL(count(view["BF"], "backfill_held"), 0u);
  CAF_CHECK_EQUAL(count(report_of(console, "sink"), "unique"), 20u);
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
  CAF_REQUIRE(await_condition([&] { return sees(n1->console(), {"n2"}); }));
  meshctl_json(n1->console(), {"emit", "hb", "--cursor", "1", "--payload",
                               R"({"ms":1500})"});
  json view;
  bool done = await_condition([&] {
    view = jobs_of(n1->console());
    return !view.is_null()
           && (count(view["hb"], "done") == 1 || count(view["hb"], "dead") == 1);
  });
  MESH_CHECK_MSG(done, "jobs: " << view.dump());
  CAF_MESSAGE("hb: " << brief(view["hb"]));
  CAF_CHECK_EQUAL(count(view["hb"], "done"), 1u);
  CAF_CHECK_EQUAL(count(view["hb"], "expired_leases"), 0u);
  CAF_CHECK_EQUAL(count(view["hb"], "failures"), 0u);
  auto beat = report_of(n2->console(), "beat");
  CAF_CHECK_EQUAL(count(beat, "deliveries"), 1u);
  if (count(view["hb"], "done") != 1 || count(beat, "deliveries") != 1) {
    auto tasks = meshctl_json(n1->console(), {"tasks", "hb"});
    CAF_MESSAGE("hb tasks: " << tasks["result"].dump());
  }
  // The control: no heartbeats, the 300 ms lease runs out under an 800 ms
  // handler.
  meshctl_json(n1->console(), {"emit", "nohb", "--cursor", "1", "--payload",
                               R"({"ms":800})"});
  // Awaited until the lease has run out once, or every attempt is used up.
  bool settled = await_condition([&] {
    view = jobs_of(n1->console());
    return !view.is_null()
           && (count(view["nohb"], "expired_leases") >= 1
               || count(view["nohb"], "dead") == 1);
  });
  MESH_CHECK_MSG(settled, "nohb: " << brief(view["nohb"]));
  CAF_CHECK_GREATER_OR_EQUAL(count(view["nohb"], "expired_leases"), 1u);
  CAF_CHECK_EQUAL(count(view["nohb"], "done"), 0u);
  CAF_MESSAGE("nohb: " << brief(view["nohb"]));
  auto tasks = meshctl_json(n1->console(), {"tasks", "nohb"});
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
  auto doc = meshctl_json(node->console(), {"jobs"});
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
  auto reload = meshctl_json(node->console(), {"jobs", "reload"}, 1);
  CAF_CHECK_EQUAL(reload["ok"], false);
  CAF_MESSAGE("jobs reload: status " << reload["status"] << ", "
                                     << reload.value("error", ""));
  // A jobs folder that does not exist stops the node at start.
  auto missing = "/no/such/folder-" + std::to_string(::getpid());
  auto t0 = clock_type::now();
  auto r = run_program({bin("meshnode"), "--id", "x", "--listen",
                        "127.0.0.1:0", "--console", "127.0.0.1:0", "--plugin",
                        plugin, "--data-dir", dir.file("data-x"), "--jobs",
                        missing},
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
