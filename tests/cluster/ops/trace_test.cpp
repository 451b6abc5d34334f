#define CAF_SUITE cluster.trace
#include "check.hpp"

#include <algorithm>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace mesh::test;
using nlohmann::json;

// `meshctl trace ID` on real nodes: node a routes (it serves the namespaces
// but has none of the handlers), node b runs; a's `trace` answers with both
// nodes' decision records in one timeline.

namespace {

const std::string examples = std::string{MESH_SOURCE_DIR} + "/examples/manifests";

std::vector<std::string> front_args(const std::string& data_dir) {
  return {"--id", "a", "--plugin", bin("libmesh_test_handlers.so"),
          "--namespaces", "test,pricing,notify,recommend,orders,echo",
          "--manifests", examples, "--data-dir", data_dir,
          "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "6"};
}

std::vector<std::string> back_args(const std::string& data_dir,
                                   const std::string& seed) {
  return {"--id", "b", "--manifests", examples, "--data-dir", data_dir,
          "--seeds", seed, "--heartbeat-interval-ms", "100",
          "--heartbeat-misses", "6"};
}

// The records of `trace` gathered by node `http` ({} when it failed).
json trace_of(const std::string& http, const std::string& trace) {
  auto doc = meshctl_json(http, {"trace", trace});
  return result_of(doc);
}

bool has_step(const json& records, const std::string& node,
              const std::string& step) {
  return std::any_of(records.begin(), records.end(), [&](const json& r) {
    return r.value("node", "") == node && r.value("step", "") == step;
  });
}

json first_step(const json& records, const std::string& step) {
  for (const auto& r : records)
    if (r.value("step", "") == step)
      return r;
  return json::object();
}

} // namespace

CAF_TEST(a trace gathers the records of every node it crossed) {
  temp_dir da, db;
  node_process a{front_args(da.path())};
  node_process b{back_args(db.path(), a.listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  // b's handlers are announced after the connection: wait for a route.
  CAF_REQUIRE(await_condition([&] {
    auto r = meshctl(a.http(), {"dispatch", "echo", "EchoService", "Echo",
                                "--payload", "{}"});
    return r.exit_code == 0;
  }));
  auto r = meshctl_json(a.http(), {"dispatch", "echo", "EchoService", "Echo",
                                   "--payload", R"({"x":1})", "--trace",
                                   "trace-dispatch-1"});
  CAF_CHECK_EQUAL(result_of(r).value("handled_by", ""), "b");
  auto t = trace_of(a.http(), "trace-dispatch-1");
  CAF_CHECK_EQUAL(t.value("trace_id", ""), "trace-dispatch-1");
  auto records = t.value("records", json::array());
  CAF_CHECK(has_step(records, "a", "pipeline"));
  CAF_CHECK(has_step(records, "a", "route"));
  CAF_CHECK(has_step(records, "a", "result"));
  CAF_CHECK(has_step(records, "b", "serve"));
  CAF_CHECK(has_step(records, "b", "execute"));
  auto route = first_step(records, "route");
  CAF_CHECK_EQUAL(route["detail"].value("chosen", ""), "b");
  CAF_CHECK_EQUAL(route["detail"].value("reason", ""), "balanced");
  // One timeline: sorted by time, every record complete.
  int64_t last = 0;
  for (const auto& rec : records) {
    auto at = rec.value("time_us", int64_t{0});
    CAF_CHECK_GREATER_OR_EQUAL(at, last);
    last = at;
    CAF_CHECK(rec.contains("decision") && rec["decision"].is_string());
    CAF_CHECK(rec.contains("duration_us"));
    CAF_CHECK(rec.contains("detail") && rec["detail"].is_object());
  }
  auto asked = t.value("nodes_asked", json::array());
  CAF_CHECK_EQUAL(asked.size(), 2u);
  CAF_CHECK_EQUAL(t.value("nodes_missing", json::array()).size(), 0u);
  // b gathers the same trace (the records live where they were made).
  auto from_b = trace_of(b.http(), "trace-dispatch-1");
  CAF_CHECK_EQUAL(from_b.value("records", json::array()).size(),
                  records.size());
  // An unknown trace is not_found, exit 1.
  auto unknown = meshctl_json(a.http(), {"trace", "no-such-trace"}, 1);
  CAF_CHECK_EQUAL(unknown.value("status", ""), "not_found");
  // A process dispatch records the strategy's choice.
  meshctl_json(a.http(), {"process", "welcome_message", "--args",
                          R"({"user_id":"u-2"})", "--trace", "trace-proc-1"});
  auto p = trace_of(a.http(), "trace-proc-1");
  auto strategy = first_step(p.value("records", json::array()), "strategy");
  CAF_CHECK_EQUAL(strategy.value("node", ""), "a");
  CAF_CHECK_EQUAL(strategy["detail"].value("variant", ""), "email");
  CAF_CHECK_EQUAL(strategy["detail"].value("strategy", ""), "attribute_filter");
  // A publish records its fan-out (even when nothing matches).
  meshctl(a.http(), {"publish", "inventory.low", "--trace", "trace-pub-1"});
  auto f = trace_of(a.http(), "trace-pub-1");
  auto fanout = first_step(f.value("records", json::array()), "fanout");
  CAF_CHECK_EQUAL(fanout.value("node", ""), "a");
  CAF_CHECK_EQUAL(fanout["detail"].value("topic", ""), "inventory.low");
}

CAF_TEST(a dead peer is named in nodes_missing) {
  temp_dir da, db;
  node_process a{front_args(da.path())};
  node_process b{back_args(db.path(), a.listen())};
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}); }));
  CAF_REQUIRE(await_condition([&] {
    auto r = meshctl(a.http(), {"dispatch", "echo", "EchoService", "Echo",
                                "--payload", "{}", "--trace", "trace-dead-1"});
    return r.exit_code == 0;
  }));
  b.kill_hard();
  CAF_REQUIRE(await_condition([&] { return sees(a.http(), {"b"}, "down"); }));
  auto t = trace_of(a.http(), "trace-dead-1");
  CAF_CHECK(has_step(t.value("records", json::array()), "a", "route"));
  CAF_CHECK_EQUAL(t.value("nodes_missing", json::array()),
                  json::array({"b"}));
}
