// meshctl trace ID: the decision records of one trace, gathered by the
// node from every node of the cluster (console command `trace`), printed
// as one timeline: node, time, step, decision, duration.

#include <ctime>
#include <iomanip>
#include <sstream>

#include "node/meshctl/meshctl_format.hpp"
#include "node/meshctl/meshctl_options.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh::meshctl {

void add_trace_command(CLI::App& app, options& o) {
  auto* trace = app.add_subcommand(
      "trace", "one trace's decisions on every node of the cluster, as a "
               "timeline: routing, strategy, fan-out, pipeline, retries, "
               "hedges, tasks and workflow steps");
  trace->add_option("id", o.target, "trace id (dispatch and publish print it)")
      ->required();
  trace->callback([&o] { o.command = {{"cmd", "trace"}, {"id", o.target}}; });
}

} // namespace mesh::meshctl

namespace mesh {

namespace {

using nlohmann::json;

// Unix microseconds as UTC "HH:MM:SS.uuuuuu" (with the date when `date`).
std::string time_text(int64_t us, bool date) {
  auto secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S") << "."
      << std::setw(6) << std::setfill('0') << (us % 1000000);
  return out.str();
}

std::string duration_text(const json& r) {
  auto i = r.find("duration_us");
  if (i == r.end() || !i->is_number())
    return "-";
  auto us = i->get<int64_t>();
  if (us < 1000)
    return std::to_string(us) + " us";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << static_cast<double>(us) / 1000.0
      << " ms";
  return out.str();
}

void print_trace(std::ostream& out, const json& r) {
  auto records = r.value("records", json::array());
  out << "trace " << r.value("trace_id", "") << ": " << records.size()
      << " record(s)";
  auto asked = r.value("nodes_asked", json::array());
  if (!asked.empty())
    out << " from " << asked.size() << " node(s)";
  if (!records.empty() && records[0].value("time_us", int64_t{0}) > 0)
    out << ", from " << time_text(records[0]["time_us"].get<int64_t>(), true)
        << " UTC";
  out << "\n";
  out << std::left << std::setw(18) << "NODE" << std::setw(17) << "TIME"
      << std::setw(10) << "STEP" << std::setw(11) << "DURATION"
      << "DECISION\n";
  for (const auto& x : records) {
    auto us = x.value("time_us", int64_t{0});
    out << std::left << std::setw(18) << x.value("node", "-") << std::setw(17)
        << (us > 0 ? time_text(us, false) : std::string{"-"}) << std::setw(10)
        << x.value("step", "-") << std::setw(11) << duration_text(x)
        << x.value("decision", "") << "\n";
  }
  auto missing = r.value("nodes_missing", json::array());
  if (!missing.empty())
    out << "no answer from: " << list_text(missing)
        << " (their records are not shown)\n";
}

} // namespace

bool print_trace_human(std::ostream& out, const std::string& command,
                       const nlohmann::json& result) {
  if (command != "trace")
    return false;
  print_trace(out, result);
  return true;
}

} // namespace mesh
