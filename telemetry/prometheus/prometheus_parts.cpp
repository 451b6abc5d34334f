// Parts of the Prometheus page about the work the node does: strategies,
// topic dispatchers, job queues, workflows; and the JSON readers every part
// uses (telemetry/prometheus/prometheus_parts.hpp).

#include "telemetry/prometheus/prometheus_parts.hpp"

#include <cmath>
#include <map>
#include <utility>

namespace mesh::detail {

using nlohmann::json;

// -- reading JSON that may be anything ----------------------------------------

const json& at(const json& j, const char* key) {
  static const json null_value;
  if (!j.is_object())
    return null_value;
  auto i = j.find(key);
  return i == j.end() ? null_value : *i;
}

const json& items(const json& j) {
  static const json empty = json::array();
  return j.is_array() ? j : empty;
}

// `j` when it is an object, else an empty one (items() of an array or a
// number would yield made-up keys).
const json& entries(const json& j) {
  static const json empty = json::object();
  return j.is_object() ? j : empty;
}

std::optional<double> number(const json& j) {
  if (j.is_number())
    return j.get<double>();
  if (j.is_boolean())
    return j.get<bool>() ? 1.0 : 0.0;
  return std::nullopt;
}

std::string text(const json& j) {
  return j.is_string() ? j.get<std::string>() : std::string{};
}

void put(prom_writer& out, const prom_family& family, const prom_labels& labels,
         const json& obj, const char* key, double divisor) {
  if (auto x = number(at(obj, key)))
    out.add(family, labels, *x / divisor);
}

// A summary from reported quantiles (microseconds), count and mean. An empty
// one has NaN quantiles, as Prometheus' own clients write.
void put_summary(prom_writer& out, const prom_family& family,
                 const prom_labels& labels, const json& quantiles,
                 double count, double mean_us) {
  for (const auto& [q, value] : quantiles.items()) {
    auto x = number(value);
    if (!x)
      continue;
    auto with_q = labels;
    with_q.emplace_back("quantile", q);
    out.add(family, with_q, count > 0 ? *x / us_per_s : std::nan(""));
  }
  out.add(family, labels, count * mean_us / us_per_s, "_sum");
  out.add(family, labels, count, "_count");
}

bool put_latency(prom_writer& out, const prom_family& family,
                 const prom_labels& labels, const json& latency) {
  auto count = number(at(latency, "count"));
  if (!count)
    return false;
  json quantiles{{"0.5", at(latency, "p50_us")},
                 {"0.9", at(latency, "p90_us")},
                 {"0.99", at(latency, "p99_us")}};
  put_summary(out, family, labels, quantiles, *count,
              number(at(latency, "mean_us")).value_or(0));
  return true;
}

// -- strategies -------------------------------------------------------------------

namespace {

void render_strategy(prom_writer& out, const json& s) {
  auto process = text(at(s, "process"));
  if (process.empty())
    return;
  auto strategy = text(at(s, "strategy"));
  for (const auto& v : items(at(s, "variants"))) {
    prom_labels labels{{"process", process},
                       {"strategy", strategy},
                       {"variant", text(at(v, "variant"))}};
    put(out, {"mesh_strategy_decisions_total", "counter", "Times this node's strategy chose the variant"},
        labels, v, "traffic");
    static const prom_family outcomes{"mesh_strategy_outcomes_total", "counter",
                                      "Outcomes reported for the variant (bandit evidence, cluster-wide)"};
    for (const auto& [key, outcome] : {std::pair{"successes", "success"},
                                       std::pair{"failures", "failure"}}) {
      if (auto x = number(at(v, key))) {
        auto with = labels;
        with.emplace_back("outcome", outcome);
        out.add(outcomes, with, *x);
      }
    }
    put(out, {"mesh_strategy_posterior_mean", "gauge", "The bandit's expected success rate of the variant"},
        labels, v, "posterior_mean");
  }
}

} // namespace

void render_strategies(prom_writer& out, const json& stats) {
  const auto& list = stats.is_object() && stats.contains("processes")
                       ? at(stats, "processes")
                       : stats;
  if (list.is_array())
    for (const auto& s : list)
      render_strategy(out, s);
  else
    render_strategy(out, list);
}

// -- topics, jobs, workflows ------------------------------------------------------

void render_topics(prom_writer& out, const json& metrics) {
  put(out, {"mesh_topic_publishes_total", "counter", "Messages published from this node"},
      {}, metrics, "publishes");
  put(out, {"mesh_topic_publishes_successful_total", "counter", "Publishes every dispatcher handled"},
      {}, metrics, "successful");
  for (const auto& d : items(at(metrics, "dispatchers"))) {
    auto id = text(at(d, "dispatcher_id"));
    if (id.empty())
      continue;
    prom_labels labels{{"dispatcher", id}};
    put(out, {"mesh_topic_dispatcher_executions_total", "counter", "Messages the topic dispatcher ran on"},
        labels, d, "executions");
    put(out, {"mesh_topic_dispatcher_errors_total", "counter", "Topic dispatcher runs that failed"},
        labels, d, "errors");
    put(out, {"mesh_topic_dispatcher_timeouts_total", "counter", "Topic dispatcher runs past their deadline"},
        labels, d, "timeouts");
    const auto& lat = at(d, "latency_us");
    auto count = number(at(d, "executions"));
    if (!lat.is_object() || !count)
      continue;
    put_summary(out, {"mesh_topic_dispatcher_latency_seconds", "summary", "Topic dispatcher run duration"},
                labels, json{{"0.5", at(lat, "p50")}, {"0.99", at(lat, "p99")}},
                *count, number(at(lat, "mean")).value_or(0));
  }
}

void render_jobs(prom_writer& out, const json& jobs) {
  static const std::pair<const char*, prom_family> fields[] = {
    {"queued", {"mesh_job_queued", "gauge", "Tasks ready to run"}},
    {"held", {"mesh_job_held", "gauge", "Tasks held back (ordering or backpressure)"}},
    {"in_flight", {"mesh_job_in_flight", "gauge", "Tasks leased to a runner"}},
    {"dead", {"mesh_job_dead_letters", "gauge", "Tasks that used up their attempts"}},
    {"paused", {"mesh_job_paused", "gauge", "1 while the job is paused"}},
    {"under_pressure", {"mesh_job_under_pressure", "gauge", "1 while a downstream job pushes back"}},
    {"max_in_flight", {"mesh_job_max_in_flight", "gauge", "Tasks allowed in flight"}},
    {"created", {"mesh_job_created_total", "counter", "Tasks created"}},
    {"done", {"mesh_job_done_total", "counter", "Tasks done"}},
    {"failures", {"mesh_job_failures_total", "counter", "Failed task attempts"}},
    {"skipped", {"mesh_job_skipped_total", "counter", "Events skipped (already seen)"}},
    {"expired_leases", {"mesh_job_expired_leases_total", "counter", "Leases that expired before an answer"}},
  };
  for (const auto& j : items(at(jobs, "jobs"))) {
    auto id = text(at(j, "id"));
    if (id.empty())
      continue;
    prom_labels labels{{"job", id}};
    for (const auto& [key, family] : fields)
      put(out, family, labels, j, key);
    put(out, {"mesh_job_oldest_age_seconds", "gauge", "Age of the oldest ready task"},
        labels, j, "oldest_age_ms", ms_per_s);
  }
  if (const auto& failed = at(jobs, "failed"); failed.is_array())
    out.add({"mesh_job_files_failed", "gauge", "Job definition files that failed to load"},
            {}, static_cast<double>(failed.size()));
}

void render_workflows(prom_writer& out, const json& workflows, const json& runs) {
  for (const auto& w : items(at(workflows, "workflows"))) {
    auto name = text(at(w, "name"));
    if (!name.empty())
      out.add({"mesh_workflow_loaded", "gauge", "1 when the workflow definition is loaded"},
              {{"workflow", name}}, text(at(w, "status")) == "loaded" ? 1 : 0);
  }
  if (const auto& errors = at(workflows, "errors"); errors.is_array())
    out.add({"mesh_workflow_files_failed", "gauge", "Workflow files that failed to load"},
            {}, static_cast<double>(errors.size()));
  std::map<std::pair<std::string, std::string>, double> counts;
  for (const auto& r : items(at(runs, "runs"))) {
    auto workflow = text(at(r, "workflow"));
    auto status = text(at(r, "status"));
    if (!workflow.empty() && !status.empty())
      counts[{workflow, status}] += 1;
  }
  for (const auto& [key, n] : counts)
    out.add({"mesh_workflow_recent_runs", "gauge",
             "Runs by workflow and status among the latest 100 the run store keeps"},
            {{"workflow", key.first}, {"status", key.second}}, n);
}

} // namespace mesh::detail
