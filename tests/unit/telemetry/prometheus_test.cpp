#define CAF_SUITE telemetry.prometheus
#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/version.hpp"
#include "telemetry/prometheus/prometheus.hpp"
#include "telemetry/prometheus/prometheus_text.hpp"

using namespace mesh;
using nlohmann::json;

namespace {

// tests/data/metrics_results.json: the results of metrics_sources() from a
// real node (meshnode with examples/jobs, workflows and manifests, one peer,
// after dispatches, processes, outcomes, publishes, emits and workflow runs),
// trimmed to a few rows; one breaker row set to "ejected" by hand.
json captured() {
  std::ifstream in{MESH_SOURCE_DIR "/tests/data/metrics_results.json"};
  return json::parse(in);
}

std::vector<std::string> lines_of(const std::string& page) {
  std::vector<std::string> out;
  std::istringstream in{page};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

bool has_line(const std::string& page, const std::string& line) {
  for (const auto& l : lines_of(page))
    if (l == line)
      return true;
  return false;
}

bool valid_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':')
      return false;
  return true;
}

// Reads `{a="x",b="y\"z"}` at `pos` (just after the name) into `labels`;
// false when malformed. Leaves `pos` after the closing brace.
bool parse_labels(const std::string& line, size_t& pos,
                  std::map<std::string, std::string>& labels) {
  if (pos >= line.size() || line[pos] != '{')
    return true;
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    auto eq = line.find('=', pos);
    if (eq == std::string::npos || !valid_name(line.substr(pos, eq - pos)))
      return false;
    auto name = line.substr(pos, eq - pos);
    pos = eq + 1;
    if (pos >= line.size() || line[pos] != '"')
      return false;
    std::string value;
    for (++pos; pos < line.size() && line[pos] != '"'; ++pos) {
      if (line[pos] == '\\') {
        if (++pos >= line.size())
          return false;
        char c = line[pos];
        if (c == 'n')
          value += '\n';
        else if (c == '\\' || c == '"')
          value += c;
        else
          return false; // no other escape exists
      } else {
        value += line[pos];
      }
    }
    if (pos >= line.size() || !labels.emplace(name, value).second)
      return false; // unterminated, or a label given twice
    ++pos;          // the closing quote
    if (pos < line.size() && line[pos] == ',')
      ++pos;
  }
  if (pos >= line.size())
    return false;
  ++pos; // '}'
  return true;
}

// A small checker of the text format 0.0.4: returns what is wrong, "" when
// nothing. Every sample is `name{labels} value` of a family whose TYPE came
// before it; HELP and TYPE once per family; a family's samples together; no
// series twice; counters end in _total; names are mesh_*.
std::string check_exposition(const std::string& page) {
  std::map<std::string, std::string> types;
  std::set<std::string> helped, series, closed;
  std::string current;
  int n = 0;
  for (const auto& line : lines_of(page)) {
    auto where = "line " + std::to_string(++n) + " '" + line + "': ";
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto name = rest.substr(0, rest.find(' '));
      if (!valid_name(name) || name.rfind("mesh_", 0) != 0)
        return where + "bad family name";
      if (line[2] == 'H' && !helped.insert(name).second)
        return where + "HELP twice";
      if (line[2] == 'T') {
        auto type = rest.substr(name.size() + 1);
        if (type != "counter" && type != "gauge" && type != "summary"
            && type != "histogram" && type != "untyped")
          return where + "unknown type";
        if (!types.emplace(name, type).second)
          return where + "TYPE twice";
        if (type == "counter"
            && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
          return where + "a counter not ending in _total";
      }
      continue;
    }
    if (line.empty() || line[0] == '#')
      return where + "unexpected line";
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ')
      ++pos;
    auto name = line.substr(0, pos);
    std::map<std::string, std::string> labels;
    if (!valid_name(name) || !parse_labels(line, pos, labels))
      return where + "bad name or labels";
    if (pos >= line.size() || line[pos] != ' ')
      return where + "no value";
    auto value = line.substr(pos + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0')
      return where + "bad value";
    auto family = name;
    for (const char* suffix : {"_sum", "_count", "_bucket"}) {
      auto len = std::string_view{suffix}.size();
      if (name.size() > len && name.substr(name.size() - len) == suffix
          && types.count(name.substr(0, name.size() - len)))
        family = name.substr(0, name.size() - len);
    }
    if (!types.count(family))
      return where + "sample before its TYPE";
    if (family != current) {
      if (closed.count(family))
        return where + "samples of a family apart";
      if (!current.empty())
        closed.insert(current);
      current = family;
    }
    std::string key = name;
    for (const auto& [k, v] : labels)
      key += "|" + k + "=" + v;
    if (!series.insert(key).second)
      return where + "series twice";
  }
  return "";
}

} // namespace

CAF_TEST(the sources are console commands that need no arguments) {
  const auto& s = metrics_sources();
  for (const char* cmd : {"status", "handlers", "peers", "breakers", "hooks",
                          "strategy_stats", "metrics", "jobs", "workflows",
                          "runs"})
    CAF_CHECK(std::find(s.begin(), s.end(), cmd) != s.end());
}

CAF_TEST(the results of a real node render exact lines) {
  auto page = render_prometheus(captured(), "node-b");
  CAF_CHECK_EQUAL(check_exposition(page), "");
  auto version = std::string{mesh_version};
  for (const auto& line : std::vector<std::string>{
         "# HELP mesh_node_info Mesh node identity; always 1",
         "# TYPE mesh_node_info gauge",
         "mesh_node_info{node=\"node-b\",version=\"" + version + "\"} 1",
         "mesh_node_uptime_seconds 45",
         "mesh_cluster_size 2",
         "mesh_actor_up{actor=\"router\"} 1",
         "# TYPE mesh_router_dispatched_total counter",
         "mesh_router_dispatched_total 89",
         "mesh_router_forwarded_total 16",
         // handlers: counters, gauges, a summary in seconds
         "mesh_handler_calls_total{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 20",
         "mesh_handler_errors_total{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 0",
         "mesh_handler_in_flight{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 0",
         "mesh_handler_queued{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 0",
         "mesh_handler_max_concurrency{namespace=\"inventory\",service=\"StockService\",method=\"Release\"} 16",
         "# TYPE mesh_handler_latency_seconds summary",
         "mesh_handler_latency_seconds{namespace=\"echo\",service=\"EchoService\",method=\"Echo\",quantile=\"0.5\"} 4.607e-06",
         "mesh_handler_latency_seconds{namespace=\"echo\",service=\"EchoService\",method=\"Echo\",quantile=\"0.99\"} 8.022e-06",
         "mesh_handler_latency_seconds_sum{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 9.5946e-05",
         "mesh_handler_latency_seconds_count{namespace=\"echo\",service=\"EchoService\",method=\"Echo\"} 20",
         // no calls yet: NaN quantiles, as Prometheus' clients write
         "mesh_handler_latency_seconds{namespace=\"inventory\",service=\"StockService\",method=\"Release\",quantile=\"0.5\"} NaN",
         "mesh_handler_latency_seconds_count{namespace=\"inventory\",service=\"StockService\",method=\"Release\"} 0",
         // peers and outlier detection
         "mesh_peer_up{peer=\"node-c\"} 1",
         "mesh_peer_state{peer=\"node-c\",state=\"up\"} 1",
         "mesh_peer_state{peer=\"node-c\",state=\"suspect\"} 0",
         "mesh_peer_in_flight{peer=\"node-c\"} 0",
         "mesh_peer_last_heartbeat_seconds{peer=\"node-c\"} 0.116",
         "mesh_peer_failures_total{peer=\"node-c\",service=\"users/UserService\"} 7",
         "mesh_peer_ejections_total{peer=\"node-c\",service=\"users/UserService\"} 2",
         "mesh_peer_ejected{peer=\"node-c\",service=\"users/UserService\"} 1",
         "mesh_peer_ejected{peer=\"node-c\",service=\"echo/EchoService\"} 0",
         // pipeline
         "mesh_hook_calls_total{hook=\"metrics\",stage=\"post\"} 0",
         "mesh_pipeline_requests_total{path=\"echo/EchoService/Echo\",status=\"unavailable\"} 1",
         "mesh_pipeline_request_latency_seconds{path=\"echo/EchoService/Echo\",quantile=\"0.99\"} 0.0009",
         // strategies
         "mesh_strategy_decisions_total{process=\"price_quote\",strategy=\"percentage_rollout\",variant=\"list_price_v1\"} 28",
         "mesh_strategy_decisions_total{process=\"price_quote\",strategy=\"percentage_rollout\",variant=\"volume_discount_v2\"} 2",
         "mesh_strategy_outcomes_total{process=\"recommendations\",strategy=\"thompson_bandit\",variant=\"popular\",outcome=\"success\"} 4",
         "mesh_strategy_outcomes_total{process=\"recommendations\",strategy=\"thompson_bandit\",variant=\"personal\",outcome=\"failure\"} 1",
         "mesh_strategy_posterior_mean{process=\"recommendations\",strategy=\"thompson_bandit\",variant=\"popular\"} 0.833333333333333",
         // topics, jobs, workflows
         "mesh_topic_publishes_total 3",
         "mesh_topic_dispatcher_errors_total{dispatcher=\"order-notifier\"} 3",
         "mesh_topic_dispatcher_latency_seconds{dispatcher=\"order-notifier\",quantile=\"0.5\"} 0.000245759",
         "mesh_topic_dispatcher_latency_seconds_sum{dispatcher=\"order-notifier\"} 0.000861",
         "mesh_job_queued{job=\"create-order\"} 7",
         "mesh_job_dead_letters{job=\"create-order\"} 2",
         "mesh_job_failures_total{job=\"create-order\"} 21",
         "mesh_job_oldest_age_seconds{job=\"create-order\"} 6.255",
         "mesh_workflow_loaded{workflow=\"price_check\"} 1",
         "mesh_workflow_recent_runs{workflow=\"price_check\",status=\"partial\"} 2",
         "mesh_workflow_recent_runs{workflow=\"onboard_user\",status=\"success\"} 1",
       }) {
    CAF_MESSAGE(line);
    CAF_CHECK(has_line(page, line));
  }
  // Bandit outcomes only for the bandit; the rollout has none.
  CAF_CHECK(page.find("process=\"price_quote\",strategy=\"percentage_rollout\","
                      "variant=\"list_price_v1\",outcome")
            == std::string::npos);
}

CAF_TEST(label values are escaped) {
  CAF_CHECK_EQUAL(prom_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  CAF_CHECK_EQUAL(prom_escape("plain"), "plain");
  json results{{"peers", {{{"id", "odd\"peer\\name\nx"}, {"state", "up"}}}},
               {"runs", {{"runs", {{{"workflow", "w\"1"}, {"status", "success"}}}}}}};
  auto page = render_prometheus(results, "node\\\"1\"\n");
  CAF_CHECK_EQUAL(check_exposition(page), "");
  CAF_CHECK(has_line(page, "mesh_peer_up{peer=\"odd\\\"peer\\\\name\\nx\"} 1"));
  CAF_CHECK(has_line(page, "mesh_workflow_recent_runs{workflow=\"w\\\"1\",status=\"success\"} 1"));
  CAF_CHECK(has_line(page, "mesh_node_info{node=\"node\\\\\\\"1\\\"\\n\",version=\""
                             + std::string{mesh_version} + "\"} 1"));
}

CAF_TEST(numbers are written as the format spells them) {
  CAF_CHECK_EQUAL(prom_number(0), "0");
  CAF_CHECK_EQUAL(prom_number(1234567), "1234567");
  CAF_CHECK_EQUAL(prom_number(0.116), "0.116");
  CAF_CHECK_EQUAL(prom_number(245.759 / 1e6), "0.000245759");
  CAF_CHECK_EQUAL(prom_number(std::nan("")), "NaN");
  CAF_CHECK_EQUAL(prom_number(HUGE_VAL), "+Inf");
  CAF_CHECK_EQUAL(prom_number(-HUGE_VAL), "-Inf");
  CAF_CHECK_EQUAL(prom_number(1e20), "1e+20");
}

CAF_TEST(nulls and garbage render node info and never throw) {
  auto info = "mesh_node_info{node=\"n1\",version=\"" + std::string{mesh_version}
              + "\"} 1";
  std::vector<json> inputs{json(), json(42), json("text"), json::array(),
                           json::object()};
  // Every source null, then each of a set of wrong shapes.
  json all_null = json::object();
  for (const auto& cmd : metrics_sources())
    all_null[cmd] = nullptr;
  inputs.push_back(all_null);
  for (const auto& wrong :
       {json(7), json("x"), json(true), json::array({1, "a", nullptr}),
        json::object({{"jobs", 3}, {"runs", "no"}, {"dispatchers", {{1, 2}}},
                      {"hooks", {nullptr}}, {"metrics", {{"p", 1}}},
                      {"processes", {{{"process", 5}}}}, {"router", {1}},
                      {"actors", {{{"name", "a"}, {"restarts", "x"}}}}}),
        json::array({json::object({{"id", 1}, {"stats", {{"latency", 1}}}}),
                     json::object({{"handler", "no-slashes"}}),
                     json::object({{"handler", "a/b/c"},
                                   {"stats", {{"calls", "many"},
                                              {"latency", {{"count", 2},
                                                           {"p50_us", "x"}}}}}}),
                     json::object({{"node", "p"}, {"state", 3}}),
                     json::object({{"process", "p"}, {"variants", 1}})})}) {
    json results = json::object();
    for (const auto& cmd : metrics_sources())
      results[cmd] = wrong;
    inputs.push_back(results);
  }
  for (const auto& input : inputs) {
    std::string page;
    try {
      page = render_prometheus(input, "n1");
    } catch (const std::exception& e) {
      CAF_FAIL("render_prometheus threw on " << input.dump() << ": "
                                             << e.what());
    }
    CAF_CHECK(has_line(page, info));
    CAF_CHECK_EQUAL(check_exposition(page), "");
  }
}

CAF_TEST(a series met twice is written once) {
  // Two rows for one handler (as a broken reply might hold): one series.
  json row{{"namespace", "a"}, {"service", "B"}, {"method", "C"},
           {"stats", {{"calls", 1}}}};
  auto second = row;
  second["stats"]["calls"] = 2;
  auto page = render_prometheus({{"handlers", {row, second}}}, "n1");
  CAF_CHECK_EQUAL(check_exposition(page), "");
  CAF_CHECK(has_line(page, "mesh_handler_calls_total{namespace=\"a\",service=\"B\",method=\"C\"} 1"));
  CAF_CHECK(page.find("method=\"C\"} 2") == std::string::npos);
}

CAF_TEST(the checker catches broken pages) {
  CAF_CHECK_NOT_EQUAL(check_exposition("mesh_x 1\n"), "");              // no TYPE
  CAF_CHECK_NOT_EQUAL(check_exposition("# TYPE mesh_x gauge\nmesh_x{a=\"1} 1\n"), "");
  CAF_CHECK_NOT_EQUAL(check_exposition("# TYPE mesh_x counter\nmesh_x 1\n"), "");
  CAF_CHECK_NOT_EQUAL(check_exposition("# TYPE mesh_x gauge\nmesh_x 1\nmesh_x 2\n"), "");
  CAF_CHECK_NOT_EQUAL(check_exposition("# TYPE mesh_x gauge\nmesh_x one\n"), "");
  CAF_CHECK_NOT_EQUAL(check_exposition("# TYPE mesh_x gauge\n# TYPE mesh_y gauge\n"
                                "mesh_x 1\nmesh_y 1\nmesh_x{a=\"b\"} 1\n"),
               "");
  CAF_CHECK_EQUAL(check_exposition("# TYPE mesh_s summary\nmesh_s{quantile=\"0.5\"} "
                                   "NaN\nmesh_s_sum 0\nmesh_s_count 0\n"),
                  "");
}

CAF_TEST(strategy stats are read in every shape the console gives) {
  json one{{"process", "p"}, {"strategy", "direct"},
           {"variants", {{{"variant", "v"}, {"traffic", 3}}}}};
  auto line = "mesh_strategy_decisions_total{process=\"p\",strategy=\"direct\","
              "variant=\"v\"} 3";
  for (const auto& shape : {json{{"processes", {one}}}, json::array({one}), one})
    CAF_CHECK(has_line(render_prometheus({{"strategy_stats", shape}}, "n"), line));
}

CAF_TEST(the gRPC door calls render as go-grpc-prometheus names them) {
  json calls = json::array(
    {{{"service", "mesh.v1.Mesh"}, {"method", "Dispatch"}, {"started", 5},
      {"in_flight", 1}, {"handled", {{"OK", 2}, {"UNAUTHENTICATED", 2}}},
      {"latency", {{"count", 4}, {"mean_us", 50.0}, {"p50_us", 40.0},
                   {"p90_us", 80.0}, {"p99_us", 90.0}, {"max_us", 90.0}}}},
     {{"service", "mesh.v1.Mesh"}, {"method", "Process"}, {"started", 0},
      {"in_flight", 0}, {"handled", json::object()}},
     // Wrong shapes are left out, the rest renders.
     {{"service", 1}, {"method", "X"}, {"started", 3}},
     {{"service", "s"}, {"method", "M"}, {"started", "many"},
      {"handled", {{"OK", "x"}, {"INTERNAL", 4}}}},
     {{"service", "s"}, {"method", "N"}, {"handled", json::array({1, 2})}},
     json(7)});
  auto page = render_prometheus({{"status", {{"grpc_calls", calls}}}}, "n1");
  CAF_CHECK_EQUAL(check_exposition(page), "");
  auto labels = std::string{"grpc_service=\"mesh.v1.Mesh\","}
                + "grpc_method=\"Dispatch\"";
  for (const auto& line : std::vector<std::string>{
         "# TYPE mesh_grpc_server_started_total counter",
         "mesh_grpc_server_started_total{" + labels + "} 5",
         "mesh_grpc_server_in_flight{" + labels + "} 1",
         "mesh_grpc_server_handled_total{" + labels + ",grpc_code=\"OK\"} 2",
         "mesh_grpc_server_handled_total{" + labels
           + ",grpc_code=\"UNAUTHENTICATED\"} 2",
         "# TYPE mesh_grpc_server_handling_seconds summary",
         "mesh_grpc_server_handling_seconds{" + labels
           + ",quantile=\"0.99\"} 9e-05",
         "mesh_grpc_server_handling_seconds_count{" + labels + "} 4",
         "mesh_grpc_server_handling_seconds_sum{" + labels + "} 0.0002",
         std::string{"mesh_grpc_server_started_total{grpc_service=\"mesh.v1."}
           + "Mesh\",grpc_method=\"Process\"} 0",
         std::string{"mesh_grpc_server_handled_total{grpc_service=\"s\","}
           + "grpc_method=\"M\",grpc_code=\"INTERNAL\"} 4"}) {
    CAF_MESSAGE(line);
    CAF_CHECK(has_line(page, line));
  }
  CAF_CHECK(page.find("grpc_method=\"X\"") == std::string::npos);
  CAF_CHECK(page.find("grpc_code=\"OK\"} x") == std::string::npos);
  CAF_CHECK(page.find("grpc_method=\"N\",grpc_code") == std::string::npos);
  // No door, no family: a node without gRPC says nothing about it.
  auto without = render_prometheus({{"status", {{"uptime_s", 1}}}}, "n1");
  CAF_CHECK(without.find("mesh_grpc_") == std::string::npos);
}
