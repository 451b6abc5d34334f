#pragma once

// Internal to render_prometheus (telemetry/prometheus/prometheus.cpp): reading result
// JSON of any shape without throwing, and the parts of the page that
// prometheus_parts.cpp renders.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "telemetry/prometheus/prometheus_text.hpp"

namespace mesh::detail {

/// `j[key]` when `j` is an object holding it, else null.
const nlohmann::json& at(const nlohmann::json& j, const char* key);

/// `j` when it is an array, else an empty one.
const nlohmann::json& items(const nlohmann::json& j);

/// `j` when it is an object, else an empty one (items() of an array or a
/// number would yield made-up keys).
const nlohmann::json& entries(const nlohmann::json& j);

/// A number (true and false as 1 and 0); nothing for anything else.
std::optional<double> number(const nlohmann::json& j);

/// A string, or "" for anything else.
std::string text(const nlohmann::json& j);

/// Adds `family` from `obj[key]` (divided by `divisor`: unit conversions
/// divide, which keeps 61.439 us as 6.1439e-05 s) when that is a number.
void put(prom_writer& out, const prom_family& family, const prom_labels& labels,
         const nlohmann::json& obj, const char* key, double divisor = 1.0);

inline constexpr double us_per_s = 1e6;
inline constexpr double ms_per_s = 1e3;

/// A summary from reported quantiles ({"0.5": microseconds, ...}), count and
/// mean (microseconds). An empty one has NaN quantiles, as Prometheus' own
/// clients write.
void put_summary(prom_writer& out, const prom_family& family,
                 const prom_labels& labels, const nlohmann::json& quantiles,
                 double count, double mean_us);

/// put_summary of a latency_histogram's to_json() ({"count", "mean_us",
/// "p50_us", "p90_us", "p99_us", ...}: quantiles 0.5, 0.9, 0.99); false
/// (nothing added) when it has no count.
bool put_latency(prom_writer& out, const prom_family& family,
                 const prom_labels& labels, const nlohmann::json& latency);

/// strategy_stats: {"processes": [...]}, a list, or one process's figures.
void render_strategies(prom_writer& out, const nlohmann::json& stats);

/// metrics (topic dispatchers).
void render_topics(prom_writer& out, const nlohmann::json& metrics);

/// jobs (durable task queues).
void render_jobs(prom_writer& out, const nlohmann::json& jobs);

/// workflows (definitions) and runs (the run store's latest 100).
void render_workflows(prom_writer& out, const nlohmann::json& workflows,
                      const nlohmann::json& runs);

} // namespace mesh::detail
