// meshctl's workflow commands (workflows [reload], workflow show|run, runs,
// run show|cancel) and how their answers print for people.
//
// `workflow run` waits for the run's end: meshctl's timeout becomes 5
// minutes (or --timeout-ms when given), passed to the node as wait_ms. Its
// exit code is 0 only when the run ends `success`; a run that ends failed,
// partial, cancelled or timed_out exits 1, the code of a failed dispatch.

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "actors/workflows/workflow_runner.hpp" // run_wait
#include "node/meshctl/meshctl_format.hpp"
#include "node/meshctl/meshctl_options.hpp"
#include "protocol/json/safe_json.hpp"

namespace mesh::meshctl {

namespace {

/// meshctl waits this much longer than the node (which answers a run it
/// stopped waiting for with deadline_exceeded run_wait::console_margin_ms
/// after wait_ms).
constexpr int64_t reply_margin_ms = run_wait::console_margin_ms + 3000;

/// Puts wait_ms in the command and lengthens meshctl's own timeout to match
/// (a --timeout-ms past what the node accepts waits as long as it allows).
void wait_for_end(options& o) {
  int64_t wait = o.timeout_given
                   ? std::clamp<int64_t>(o.timeout_ms, 1, run_wait::max_ms)
                   : run_wait::default_ms;
  o.command["wait_ms"] = wait;
  o.timeout_ms = wait + reply_margin_ms;
}

} // namespace

void add_workflow_commands(CLI::App& app, options& o) {
  auto* list = app.add_subcommand(
    "workflows", "workflow definitions with their load status and the "
                 "errors of each file; 'reload' re-reads the workflows folder "
                 "(exits 1 if a file fails)");
  list->add_option("action", o.action, "list or reload")
    ->check(CLI::IsMember({"list", "reload"}));
  list->callback([&o] {
    o.command = {{"cmd", o.action == "reload" ? "workflows_reload"
                                               : "workflows"}};
  });

  auto* wf = app.add_subcommand("workflow", "one workflow: show or run it");
  wf->require_subcommand(1);
  auto* show = wf->add_subcommand("show", "a workflow's definition and steps");
  show->add_option("name", o.target, "workflow name")->required();
  show->callback([&o] {
    o.command = {{"cmd", "workflow"}, {"name", o.target}, {"action", "show"}};
  });

  auto* run = wf->add_subcommand(
    "run", "run a workflow and wait for its end (5 min, or --timeout-ms); "
           "exit code 0 when the run ends success, 1 when it ends failed, "
           "partial, cancelled or timed_out (or the node refuses it)");
  run->add_option("name", o.target, "workflow name (or --file)");
  run->add_option("--input", o.args_text,
                  "the run's input, JSON; @FILE reads a file, - standard "
                  "input");
  run->add_option("--context", o.context_text, "user context, a JSON object");
  run->add_option("--trace-id", o.trace, "trace id (default: generated)");
  auto* async = run->add_flag("--async", "start the run, print its id, "
                                         "do not wait");
  auto* file = run->add_option("--file", "run this definition (a workflow "
                                         "JSON file) instead of a loaded one")
                ->type_name("FILE");
  run->callback([&o, async, file] {
    o.command = {{"cmd", "workflow_run"}};
    auto path = file->count() > 0 ? file->as<std::string>() : std::string{};
    if (o.target.empty() == path.empty()) {
      o.error = path.empty() ? "workflow run needs a workflow NAME (or "
                               "--file DEF.json)"
                             : "workflow run: give NAME or --file, not both";
      return;
    }
    if (!o.target.empty())
      o.command["name"] = o.target;
    else
      set_json(o, "--file", "@" + path, "definition");
    set_json(o, "--input", o.args_text, "input");
    set_json(o, "--context", o.context_text, "context");
    if (!o.trace.empty())
      o.command["trace_id"] = o.trace;
    if (async->count() > 0)
      o.command["async"] = true;
    else
      wait_for_end(o);
  });

  auto* runs = app.add_subcommand("runs", "workflow runs, with filters");
  runs->add_option("--workflow", o.target, "only runs of this workflow");
  runs->add_option("--status", o.state,
                   "running, success, failed, partial, cancelled or "
                   "timed_out")
    ->check(CLI::IsMember(
      {"running", "success", "failed", "partial", "cancelled", "timed_out"}));
  runs->add_option("--limit", o.limit, "at most this many")
    ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  runs->callback([&o] {
    o.command = {{"cmd", "runs"}};
    if (!o.target.empty())
      o.command["workflow"] = o.target;
    if (!o.state.empty())
      o.command["status"] = o.state;
    if (o.limit > 0)
      o.command["limit"] = o.limit;
  });

  auto* one = app.add_subcommand("run", "one workflow run: show or cancel");
  one->require_subcommand(1);
  auto* run_show = one->add_subcommand("show", "a run with its steps");
  run_show->add_option("id", o.target, "run id")->required();
  run_show->callback([&o] {
    o.command = {{"cmd", "run"}, {"id", o.target}, {"action", "show"}};
  });
  auto* cancel = one->add_subcommand(
    "cancel", "cancel a run; waits until it has ended (its compensations "
              "done) and shows it");
  cancel->add_option("id", o.target, "run id")->required();
  cancel->callback([&o] {
    o.command = {{"cmd", "run"}, {"id", o.target}, {"action", "cancel"}};
    wait_for_end(o);
  });
}

} // namespace mesh::meshctl

namespace mesh {

namespace {

using nlohmann::json;

/// `j[key]` as text: "-" when missing, null or empty.
std::string field(const json& j, const char* key) {
  if (!j.is_object())
    return "-";
  auto i = j.find(key);
  if (i == j.end() || i->is_null())
    return "-";
  auto s = i->is_string() ? i->get<std::string>() : dump_json(*i);
  return s.empty() ? "-" : s;
}

/// "N ms", or "-" when unknown.
std::string ms_text(const json& j, const char* key) {
  auto x = field(j, key);
  return x == "-" ? x : x + " ms";
}

/// The first line of `s`, at most `n` characters.
std::string short_text(std::string s, size_t n = 60) {
  bool cut = false;
  if (auto nl = s.find('\n'); nl != std::string::npos) {
    s.resize(nl);
    cut = true;
  }
  if (s.size() > n) {
    s.resize(n - 3);
    cut = true;
  }
  return cut ? s + "..." : s;
}

/// Unix milliseconds as UTC "YYYY-MM-DD HH:MM:SS"; "-" when unknown.
std::string time_text(const json& j, const char* key) {
  auto i = j.find(key);
  if (i == j.end() || !i->is_number() || i->get<int64_t>() <= 0)
    return "-";
  auto secs = static_cast<std::time_t>(i->get<int64_t>() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%d %H:%M:%S");
  return out.str();
}

std::string join(const json& list) {
  return list_text(list, "-");
}

/// "error: FILE: /POINTER: MESSAGE" for each error of each failed file.
void print_file_errors(std::ostream& out, const json& files) {
  for (const auto& f : files) {
    auto errors = f.value("errors", json::array());
    if (errors.empty())
      out << "error: " << f.value("text", f.value("file", "")) << "\n";
    for (const auto& e : errors)
      out << "error: " << f.value("file", "") << ": " << e.value("pointer", "")
          << ": " << e.value("message", "") << "\n";
  }
}

void print_workflows(std::ostream& out, const json& r) {
  out << std::left << std::setw(24) << "NAME" << std::setw(12) << "MODE"
      << std::setw(12) << "ON_FAILURE" << std::setw(7) << "STEPS"
      << std::setw(8) << "STATUS" << "FILE\n";
  auto list = r.value("workflows", json::array());
  for (const auto& w : list)
    out << std::left << std::setw(24) << field(w, "name") << std::setw(12)
        << field(w, "mode") << std::setw(12) << field(w, "on_failure")
        << std::setw(7) << field(w, "steps") << std::setw(8)
        << field(w, "status") << field(w, "file") << "\n";
  if (list.empty())
    out << "(no workflows in " << field(r, "dir") << ")\n";
  print_file_errors(out, r.value("errors", json::array()));
}

void print_reload(std::ostream& out, const json& r) {
  out << "loaded:  " << join(r.value("loaded", json::array())) << "\n"
      << "removed: " << join(r.value("removed", json::array())) << "\n"
      << "kept (last good version): " << join(r.value("kept", json::array()))
      << "\n";
  print_file_errors(out, r.value("failed", json::array()));
}

/// A step's kind: "kind", or the first kind key it has (`"call": ...`).
std::string step_kind(const json& s) {
  if (s.contains("kind") && s["kind"].is_string())
    return s["kind"].get<std::string>();
  for (const char* k : {"call", "process", "publish", "emit", "workflow"})
    if (s.contains(k))
      return k;
  return "-";
}

void print_definition(std::ostream& out, const json& r) {
  // {"name", "file", "definition": the document as written}.
  const auto* src = &r;
  for (const char* key : {"definition", "source"})
    if (r.contains(key) && r[key].is_object())
      src = &r[key];
  // What the document leaves out has the runner's default.
  auto get = [&](const char* key, const char* dflt) {
    auto x = r.contains(key) ? field(r, key) : field(*src, key);
    return x == "-" ? std::string{dflt} : x;
  };
  auto timeout = get("timeout_ms", "0");
  out << "name:        " << get("name", "-") << "\n"
      << "description: " << get("description", "-") << "\n"
      << "mode:        " << get("mode", "sequential") << "\n"
      << "on_failure:  " << get("on_failure", "stop") << "\n"
      << "timeout:     " << (timeout == "0" ? "none" : timeout + " ms")
      << "\n";
  if (r.contains("status"))
    out << "status:      " << field(r, "status") << "\n";
  if (r.contains("file"))
    out << "file:        " << field(r, "file") << "\n";
  auto steps = r.contains("steps") && r["steps"].is_array()
                 ? r["steps"] : src->value("steps", json::array());
  out << std::left << std::setw(20) << "ID" << std::setw(10) << "KIND"
      << std::setw(36) << "TARGET" << "DEPENDS_ON\n";
  for (const auto& s : steps) {
    auto kind = step_kind(s);
    auto target = s.contains("target") ? field(s, "target")
                                       : field(s, kind.c_str());
    out << std::left << std::setw(20) << field(s, "id") << std::setw(10)
        << kind << std::setw(36) << short_text(target, 35)
        << join(s.value("depends_on", json::array())) << "\n";
  }
}

void print_run(std::ostream& out, const json& r) {
  out << "run:      " << field(r, "id") << "\n"
      << "workflow: " << field(r, "workflow") << "\n"
      << "status:   " << field(r, "status") << "\n"
      << "trace_id: " << field(r, "trace_id") << "\n"
      << "started:  " << time_text(r, "started_ms") << "\n"
      << "duration: " << ms_text(r, "duration_ms") << "\n";
  if (field(r, "error") != "-")
    out << "error:    " << field(r, "error") << "\n";
  if (field(r, "output") != "-")
    out << "output:   " << short_text(field(r, "output"), 200) << "\n";
  auto steps = r.value("steps", json::array());
  out << std::left << std::setw(20) << "STEP" << std::setw(12) << "STATUS"
      << std::setw(9) << "ATTEMPTS" << std::setw(18) << "NODE"
      << std::setw(12) << "DURATION_MS" << "ERROR/OUTPUT\n";
  bool compensated = false;
  for (const auto& s : steps) {
    auto detail = field(s, "error") != "-" ? field(s, "error")
                                           : field(s, "output");
    out << std::left << std::setw(20) << field(s, "id") << std::setw(12)
        << field(s, "status") << std::setw(9) << field(s, "attempts")
        << std::setw(18) << field(s, "node") << std::setw(12)
        << field(s, "duration_ms") << short_text(detail) << "\n";
    compensated = compensated || (s.contains("compensation")
                                  && s["compensation"].is_object());
  }
  if (!compensated)
    return;
  out << "compensations:\n"
      << std::left << std::setw(20) << "STEP" << std::setw(17) << "STATUS"
      << "ERROR\n";
  for (const auto& s : steps)
    if (s.contains("compensation") && s["compensation"].is_object())
      out << std::left << std::setw(20) << field(s, "id") << std::setw(17)
          << field(s["compensation"], "status")
          << short_text(field(s["compensation"], "error")) << "\n";
}

void print_runs(std::ostream& out, const json& r) {
  out << std::left << std::setw(20) << "RUN" << std::setw(20) << "WORKFLOW"
      << std::setw(11) << "STATUS" << std::setw(21) << "STARTED"
      << std::setw(13) << "DURATION_MS" << "ERROR\n";
  auto list = r.value("runs", json::array());
  for (const auto& x : list)
    out << std::left << std::setw(20) << field(x, "id") << std::setw(20)
        << field(x, "workflow") << std::setw(11) << field(x, "status")
        << std::setw(21) << time_text(x, "started_ms") << std::setw(13)
        << field(x, "duration_ms") << short_text(field(x, "error")) << "\n";
  if (list.empty())
    out << "(no runs)\n";
}

/// A successful reply's result for people.
void print_result(std::ostream& out, const std::string& cmd, const json& r,
                  bool async) {
  if (cmd == "workflows")
    print_workflows(out, r);
  else if (cmd == "workflows_reload")
    print_reload(out, r);
  else if (cmd == "workflow")
    print_definition(out, r);
  else if (cmd == "workflow_run" && async)
    out << field(r, "run_id") << "\n";
  else if (cmd == "runs")
    print_runs(out, r);
  else
    print_run(out, r); // workflow run, run show, run cancel
}

} // namespace

std::optional<int> print_workflow_reply(std::ostream& out,
                                        const json& command,
                                        const json& reply, bool as_json) {
  auto cmd = command.value("cmd", "");
  if (cmd != "workflows" && cmd != "workflows_reload" && cmd != "workflow"
      && cmd != "workflow_run" && cmd != "runs" && cmd != "run")
    return std::nullopt;
  constexpr int exit_failed = meshctl::exit_code::failed;
  if (!reply.is_object())
    return std::nullopt; // printed as it came, by every command's path
  auto okay = reply.find("ok");
  bool ok = okay != reply.end() && okay->is_boolean() && okay->get<bool>();
  // A reload with failures lists them by file; other failures print (and
  // exit) as every command's do.
  if (!ok
      && (as_json || cmd != "workflows_reload" || !reply.contains("result")))
    return std::nullopt;
  const auto& r = reply.contains("result") ? reply["result"] : reply;
  bool async = command.value("async", false);
  std::ostringstream text;
  try {
    if (as_json)
      text << dump_json(reply, 2) << "\n";
    else if (!ok)
      text << "status: " << field(reply, "status") << "\n"
           << "error:  " << field(reply, "error") << "\n";
    if (!as_json)
      print_result(text, cmd, r, async);
  } catch (const json::exception&) { // not the documented shape: as it came
    text.str("");
    if (as_json)
      text << dump_json(reply, 2) << "\n";
    else
      print_fields(text, reply);
  }
  out << text.str();
  out.flush();
  bool run_failed = cmd == "workflow_run" && !async
                    && field(r, "status") != "success";
  return ok && !run_failed ? 0 : exit_failed;
}

} // namespace mesh
