// meshctl: the admin CLI of a Mesh node, a thin client of the node's HTTP
// API (each command is `POST /v1/<cmd>` with its arguments as the body).
//
//   meshctl COMMAND ... [--node HOST:PORT] [--token T] [--json | -o json]
//                       [--timeout-ms N]
//
// The global flags go before or after the command. --node (or MESH_NODE)
// is the node's HTTP address, default 127.0.0.1:7422; --token (or
// MESH_TOKEN) the console token. With --json every outcome, a failure to
// reach the node included, is printed as the one envelope {"ok", "status",
// "code", "result" | "error"}.
//
// Exit codes (exit_code in meshctl_options.hpp): 0 ok; 1 the node answered
// with a non-ok status, or `workflow run` ended other than success; 2 bad
// usage (an unknown command, a --node that is not HOST:PORT); 3 nothing,
// or no HTTP, answered at --node; 4 the token was refused; 5 the node did
// not answer within --timeout-ms.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "node/meshctl/meshctl_format.hpp"
#include "node/meshctl/meshctl_http.hpp"
#include "node/meshctl/meshctl_options.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"
#include "protocol/version.hpp"

namespace exit_code = mesh::meshctl::exit_code;
using mesh::meshctl::options;
using mesh::meshctl::set_json;

namespace {

// --deadline-ms: what a request's deadline_ms holds (uint32), refused on
// the command line rather than by the node.
const CLI::Range deadline_range{int64_t{0}, int64_t{4294967295}};

// How much longer than a request's deadline meshctl waits for its answer.
constexpr int64_t deadline_margin_ms = 6000;

// Whatever happens below (a server that accepts TCP and then trickles
// bytes, a DNS stall), meshctl ends within its timeout plus a small
// margin, saying so as it would say any other timeout.
class watchdog {
public:
  watchdog(std::chrono::milliseconds limit, std::string text)
    : thread_([this, limit, text] {
        std::unique_lock<std::mutex> guard{mtx_};
        if (!cv_.wait_for(guard, limit, [this] { return done_; })) {
          std::cout << text << std::flush;
          std::_Exit(exit_code::timeout);
        }
      }) {}

  ~watchdog() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

void add_commands(CLI::App& app, options& o) {
  auto simple = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->callback([&o, name] { o.command["cmd"] = name; });
    return sub;
  };
  simple("status", "node id, uptime, namespaces, handlers, cluster size");
  simple("handlers", "registered handlers with their counters");

  for (const char* name : {"dispatch", "serve"}) {
    auto* sub = app.add_subcommand(
      name, std::string(name) == "dispatch"
              ? "route a request to a handler anywhere in the cluster"
              : "run a request on this node only");
    sub->add_option("namespace", o.ns)->required();
    sub->add_option("service", o.service)->required();
    sub->add_option("method", o.method)->required();
    sub->add_option("--payload", o.payload_text,
                    "JSON payload; @FILE reads a file, - standard input");
    if (std::string(name) == "dispatch") {
      sub->add_option("--target", o.target, "node id to run the request on");
      mesh::meshctl::add_directive_flags(*sub, o);
    }
    sub->add_option("--trace", o.trace, "trace id (default: generated)");
    sub->add_option("--deadline-ms", o.deadline_ms, "deadline in milliseconds")
      ->check(deadline_range);
    sub->callback([&o, name] {
      auto& c = o.command;
      c["cmd"] = name;
      c["namespace"] = o.ns;
      c["service"] = o.service;
      c["method"] = o.method;
      if (!o.target.empty())
        c["target"] = o.target;
      if (!o.trace.empty())
        c["trace"] = o.trace;
      if (o.deadline_ms >= 0)
        c["deadline_ms"] = o.deadline_ms;
      set_json(o, "--payload", o.payload_text, "payload");
      if (std::string(name) == "dispatch")
        mesh::meshctl::set_directives(o, c);
    });
  }

  auto* ns = app.add_subcommand("namespaces", "add or remove a served namespace");
  ns->add_option("action", o.action, "add or remove")
    ->required()
    ->check(CLI::IsMember({"add", "remove"}));
  ns->add_option("namespace", o.ns)->required();
  ns->callback([&o] {
    o.command = {{"cmd", "namespaces"}, {"action", o.action},
                 {"namespace", o.ns}};
  });

  simple("peers", "peers with state, shared namespaces, in-flight requests");
  auto* connect = app.add_subcommand("connect", "join this node to a peer");
  connect->add_option("address", o.target, "host:port of the peer")->required();
  connect->callback([&o] {
    o.command = {{"cmd", "connect"}, {"address", o.target}};
  });
  simple("leave", "leave the cluster gracefully (meshnode then exits)");
  auto* remove = app.add_subcommand("remove",
                                    "forget a down peer (stops re-dialling)");
  remove->add_option("node", o.target, "node id")->required();
  remove->callback([&o] { o.command = {{"cmd", "remove"}, {"node", o.target}}; });

  // Tests of supervision only (the node must allow it); not in --help.
  auto* inject = app.add_subcommand("inject_failure",
                                    "kill one of the node's actors (tests)");
  inject->group("");
  inject->add_option("--actor", o.target,
                     "router, registry, ..., \"data links\" or \"data tokens\"")
    ->required();
  inject->callback([&o] {
    o.command = {{"cmd", "inject_failure"}, {"actor", o.target}};
  });

  auto* val = app.add_subcommand("validator",
                                 "set the registry validator: an allow-list "
                                 "(--allow ns/Service/Method ...) or none");
  val->add_option("--allow", o.allow, "pattern; * matches any part");
  val->callback([&o] {
    o.command = {{"cmd", "validator"}};
    if (!o.allow.empty())
      o.command["allow"] = o.allow;
  });
}

void add_strategy_commands(CLI::App& app, options& o) {
  auto* process = app.add_subcommand(
    "process", "run a business process: its manifest's strategy picks the "
               "variant, which runs anywhere in the cluster");
  process->add_option("name", o.target, "process name")->required();
  process->add_option("--context", o.context_text,
                      "user context, a JSON object (e.g. {\"user_id\":\"u1\"})");
  process->add_option("--args", o.args_text,
                      "input args, JSON checked against the input_schema");
  process->add_option("--trace", o.trace, "trace id (default: generated)");
  process
    ->add_option("--deadline-ms", o.deadline_ms, "deadline in milliseconds")
    ->check(deadline_range);
  process->callback([&o] {
    o.command = {{"cmd", "process"}, {"process", o.target}};
    set_json(o, "--context", o.context_text, "context");
    set_json(o, "--args", o.args_text, "args");
    if (!o.trace.empty())
      o.command["trace"] = o.trace;
    if (o.deadline_ms >= 0)
      o.command["deadline_ms"] = o.deadline_ms;
  });

  auto* outcome = app.add_subcommand(
    "outcome", "report how a variant did (feeds thompson_bandit)");
  outcome->add_option("process", o.target)->required();
  outcome->add_option("variant", o.ns)->required();
  outcome->add_option("result", o.outcome, "success or failure")
    ->required()
    ->check(CLI::IsMember({"success", "failure"}));
  outcome->callback([&o] {
    o.command = {{"cmd", "outcome"}, {"process", o.target},
                 {"variant", o.ns}, {"success", o.outcome == "success"}};
  });

  auto* manifests = app.add_subcommand(
    "manifests", "list process manifests; 'show NAME'; 'reload' (as SIGHUP)");
  manifests->add_option("action", o.action, "list, show or reload")
    ->check(CLI::IsMember({"list", "show", "reload"}));
  manifests->add_option("name", o.target, "process name (for show)");
  manifests->callback([&o] {
    auto action = o.action.empty() ? std::string{"list"} : o.action;
    o.command = {{"cmd", "manifests"}, {"action", action}};
    if (action == "show" && o.target.empty())
      o.error = "manifests show needs a process name";
    else if (!o.target.empty())
      o.command["name"] = o.target;
  });

  auto* strategy = app.add_subcommand("strategy", "strategy statistics");
  auto* stats = strategy->add_subcommand(
    "stats", "per-variant traffic; for the bandit, outcomes and posteriors");
  stats->add_option("process", o.target)->required();
  stats->callback([&o] {
    o.command = {{"cmd", "strategy_stats"}, {"process", o.target}};
  });
  strategy->require_subcommand(1);
}

void add_topic_commands(CLI::App& app, options& o) {
  auto* publish = app.add_subcommand(
    "publish", "publish a message: every matching dispatcher in the cluster "
               "runs once");
  publish->add_option("topic", o.target, "dot-separated topic")->required();
  publish->add_option("--category", o.category, "event, command or intent")
    ->check(CLI::IsMember({"event", "command", "intent"}));
  publish->add_option("--type", o.message_type, "message type");
  publish->add_option("--payload", o.payload_text,
                      "JSON payload; @FILE reads a file, - standard input");
  publish->add_option("--trace", o.trace, "trace id (default: generated)");
  publish->add_option("--deadline-ms", o.deadline_ms,
                      "deadline in milliseconds for the whole publish "
                      "(default: each part's dispatcher timeout)")
    ->check(deadline_range);
  publish->callback([&o] {
    o.command = {{"cmd", "publish"},
                 {"topic", o.target},
                 {"category", o.category.empty() ? "event" : o.category}};
    if (!o.message_type.empty())
      o.command["message_type"] = o.message_type;
    if (!o.trace.empty())
      o.command["trace"] = o.trace;
    if (o.deadline_ms >= 0)
      o.command["deadline_ms"] = o.deadline_ms;
    set_json(o, "--payload", o.payload_text, "payload");
  });
  auto simple = [&](const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->callback([&o, name] { o.command = {{"cmd", name}}; });
    return sub;
  };
  simple("routes", "topic routes of this node and of its peers, dispatchers");
  simple("metrics", "per-dispatcher executions, errors, latency; success rate");
  simple("freeze", "freeze this node's routes: later registrations fail");
  auto* records = app.add_subcommand(
    "records", "messages kept by a record dispatcher");
  records->add_option("dispatcher", o.target)->required();
  records->callback([&o] {
    o.command = {{"cmd", "records"}, {"dispatcher", o.target}};
  });
  auto* route = app.add_subcommand("route", "enable or disable a route");
  route->add_option("action", o.action, "enable or disable")
    ->required()
    ->check(CLI::IsMember({"enable", "disable"}));
  route->add_option("route", o.target, "route id")->required();
  route->callback([&o] {
    o.command = {{"cmd", "route"}, {"route", o.target},
                 {"enabled", o.action == "enable"}};
  });
}

void add_completion_command(CLI::App& app, options& o) {
  auto* completion = app.add_subcommand(
    "completion", "print a shell completion script: source <(meshctl "
                  "completion bash)");
  completion->add_option("shell", o.target, "bash")
    ->required()
    ->check(CLI::IsMember({"bash"}));
  completion->callback([&o] { o.command = {{"cmd", "completion"}}; });
}

// Prints an outcome that meshctl made up (the node did not answer): the
// envelope with --json, else one line on stderr.
int print_client_failure(const nlohmann::json& envelope, int code,
                         bool as_json) {
  if (as_json)
    std::cout << mesh::dump_json(envelope, 2) << "\n";
  else
    std::cerr << "meshctl: " << envelope.value("error", "") << "\n";
  return code;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"meshctl: administer a Mesh node through its HTTP API"};
  options o;
  if (const char* env = std::getenv("MESH_NODE"))
    o.node = env;
  if (const char* env = std::getenv("MESH_TOKEN"))
    o.token = env;
  app.set_version_flag("--version", std::string{"meshctl "} + mesh::mesh_version,
                       "print meshctl's version and exit");
  add_commands(app, o);
  add_strategy_commands(app, o);
  add_topic_commands(app, o);
  mesh::meshctl::add_task_commands(app, o);
  mesh::meshctl::add_pipeline_commands(app, o);
  mesh::meshctl::add_workflow_commands(app, o);
  mesh::meshctl::add_trace_command(app, o);
  add_completion_command(app, o);
  mesh::meshctl::add_global_flags(app, o);
  app.require_subcommand(1);
  if (auto unknown = mesh::meshctl::unknown_command(app, argc, argv)) {
    std::cerr << "meshctl: " << *unknown << "\n";
    return exit_code::usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_code::usage;
  }
  if (!o.output.empty())
    o.json = o.output == "json";
  if (!o.error.empty()) {
    std::cerr << "meshctl: " << o.error << "\n";
    return exit_code::usage;
  }
  if (o.command.value("cmd", "") == "completion") {
    std::cout << mesh::meshctl::bash_completion(app);
    return 0;
  }
  auto node = mesh::meshctl::parse_node_address(o.node);
  if (!node) {
    std::cerr << "meshctl: --node '" << o.node
              << "' is not HOST:PORT (the node's HTTP address, e.g. "
              << mesh::meshctl::default_node << "; also MESH_NODE)\n";
    return exit_code::usage;
  }
  // A request given a deadline past the default wait is waited for: the
  // node answers by then (deadline_exceeded at worst), and its HTTP side
  // waits 5 s more for the console.
  if (auto d = o.command.find("deadline_ms");
      !o.timeout_given && d != o.command.end() && d->is_number_integer())
    o.timeout_ms = std::max<int64_t>(o.timeout_ms,
                                     d->get<int64_t>() + deadline_margin_ms);
  auto limit = std::chrono::milliseconds{o.timeout_ms};
  auto late = mesh::envelope_error(
    mesh::status_code::deadline_exceeded,
    "no answer from " + o.node + " within " + std::to_string(o.timeout_ms)
      + " ms (--timeout-ms)");
  watchdog guard{limit + std::chrono::milliseconds{1000},
                 o.json ? mesh::dump_json(late, 2) + "\n"
                        : "meshctl: " + late.value("error", "") + "\n"};
  auto [reply, code] = mesh::meshctl::call_node(*node, o.token, o.command,
                                                limit);
  if (code == exit_code::unreachable || code == exit_code::timeout)
    return print_client_failure(reply, code, o.json);
  bool ok = reply.value("ok", false);
  // The explanation comes with every dispatch; shown when asked for.
  if (!o.explain && !o.dry_run && reply.contains("result")
      && reply["result"].is_object())
    reply["result"].erase("explain");
  // Workflow commands print and choose their exit code themselves.
  if (ok || code == exit_code::failed)
    if (auto run_code = mesh::print_workflow_reply(std::cout, o.command,
                                                   reply, o.json))
      return *run_code;
  if (o.json)
    std::cout << mesh::dump_json(reply, 2) << "\n";
  else if (ok)
    mesh::print_human(std::cout, o.command.value("cmd", ""),
                      reply.contains("result") ? reply["result"]
                                               : nlohmann::json::object());
  else
    mesh::print_failure(std::cout, reply);
  std::cout.flush(); // before any exit-time reporting (e.g. sanitizers)
  return code;
}
