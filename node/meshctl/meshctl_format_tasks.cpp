// meshctl's human output for durable tasks: jobs, job, tasks, emit,
// dead-letters and dead-letter.

#include <iomanip>

#include "node/meshctl/meshctl_format.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh {

namespace {

std::string join_words(const nlohmann::json& list) {
  std::string out;
  for (const auto& x : list)
    out += (out.empty() ? "" : ", ")
           + (x.is_string() ? x.get<std::string>() : dump_json(x));
  return out.empty() ? "-" : out;
}

void print_jobs(std::ostream& out, const nlohmann::json& r) {
  out << std::left << std::setw(20) << "JOB" << std::setw(8) << "QUEUED"
      << std::setw(7) << "HELD" << std::setw(10) << "IN_FLIGHT" << std::setw(9)
      << "DONE" << std::setw(7) << "DEAD" << std::setw(11) << "OLDEST_MS"
      << std::setw(10) << "BACKFILL" << "PAUSED BY\n";
  for (const auto& j : r.value("jobs", nlohmann::json::array()))
    out << std::left << std::setw(20) << j.value("id", "") << std::setw(8)
        << j.value("queued", 0) << std::setw(7) << j.value("held", 0)
        << std::setw(10) << j.value("in_flight", 0) << std::setw(9)
        << j.value("done", 0) << std::setw(7) << j.value("dead", 0)
        << std::setw(11) << j.value("oldest_age_ms", 0) << std::setw(10)
        << j.value("backfill_held", 0)
        << join_words(j.value("paused_by", nlohmann::json::array())) << "\n";
  for (const auto& j : r.value("jobs", nlohmann::json::array()))
    if (auto n = j.value("unreadable", 0); n > 0)
      out << "unreadable: " << n << " stored task(s) of job "
          << j.value("id", "")
          << " cannot be read and are not delivered (the node's log names "
             "them)\n";
  for (const auto& f : r.value("failed", nlohmann::json::array()))
    out << "failed: " << f.value("error", f.value("file", "")) << "\n";
}

void print_tasks(std::ostream& out, const nlohmann::json& list) {
  out << std::left << std::setw(40) << "TASK" << std::setw(8) << "STATE"
      << std::setw(9) << "ATTEMPTS" << "LAST ERROR\n";
  for (const auto& t : list) {
    // An unreadable row (its row in the file is bad) has only its reason.
    auto history = t.value("history", nlohmann::json::array());
    auto last = t.contains("error")  ? t.value("error", "")
                : history.empty()    ? std::string{"-"}
                                     : history.back().value("error", "");
    out << std::left << std::setw(40) << t.value("id", "") << std::setw(8)
        << t.value("state", "") << std::setw(9)
        << (t.contains("attempts") ? std::to_string(t.value("attempts", 0))
                                   : std::string{"-"})
        << last << "\n";
  }
}

void print_dead_letters(std::ostream& out, const nlohmann::json& list) {
  if (list.empty()) {
    out << "no dead letters\n";
    return;
  }
  for (const auto& t : list) {
    out << t.value("id", "") << " (job " << t.value("job", "") << ", "
        << t.value("attempts", 0) << " attempts)\n";
    for (const auto& a : t.value("history", nlohmann::json::array()))
      out << "  attempt " << a.value("attempt", 0) << " on "
          << a.value("node", "-") << " at " << a.value("at_ms", 0) << ": "
          << a.value("status", "") << ": " << a.value("error", "") << "\n";
  }
}

} // namespace

bool print_task_human(std::ostream& out, const std::string& command,
                      const nlohmann::json& result) {
  if (command == "jobs") {
    print_jobs(out, result);
  } else if (command == "job" || command == "dead_letter_retry") {
    print_fields(out, result);
  } else if (command == "tasks") {
    print_tasks(out, result);
  } else if (command == "emit") {
    out << "created " << result.value("created", 0) << " task(s), held "
        << result.value("held", 0) << ", skipped " << result.value("skipped", 0)
        << " (committed)\n";
  } else if (command == "dead_letters") {
    print_dead_letters(out, result);
  } else if (command == "dead_letter_purge") {
    out << "purged " << result.value("purged", 0) << " dead letter(s)\n";
  } else if (command == "jobs_reload") {
    out << "loaded: " << join_words(result.value("loaded", nlohmann::json::array()))
        << "\nremoved: "
        << join_words(result.value("removed", nlohmann::json::array()))
        << "\nkept: " << join_words(result.value("kept", nlohmann::json::array()))
        << "\n";
    for (const auto& w : result.value("warnings", nlohmann::json::array()))
      if (w.is_object() && w.contains("text") && w["text"].is_string())
        out << "warning: " << w["text"].get<std::string>() << "\n";
  } else {
    return false;
  }
  return true;
}

} // namespace mesh
