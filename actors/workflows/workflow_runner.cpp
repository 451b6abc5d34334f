#include "actors/workflows/workflow_runner.hpp"

#include <filesystem>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/local_only.hpp"
#include "actors/workflows/workflow_runner_state.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/status.hpp"

namespace mesh {

namespace {

using detail::workflow_runner_state;
using runner_actor = workflows_actor::stateful_pointer<workflow_runner_state>;

caf::error bad_request(std::string why) {
  return make_error(status_code::invalid_argument, std::move(why));
}

// A run as `meshctl runs` lists it.
nlohmann::json summary(const run_record& r) {
  return {{"id", r.id},
          {"workflow", r.workflow},
          {"status", to_string(r.status)},
          {"trace_id", r.trace_id},
          {"started_ms", r.started_ms},
          {"completed_ms", r.completed_ms},
          {"duration_ms", r.completed_ms > 0 ? r.completed_ms - r.started_ms : 0},
          {"error", r.error},
          {"steps", r.steps.size()},
          {"parent_run", r.parent_run}};
}

// (atom::run, request): checks the request and the input, starts the run.
caf::result<nlohmann::json> run_request(runner_actor self,
                                        const nlohmann::json& req) {
  auto& st = self->state;
  if (st.draining)
    return make_error(status_code::unavailable, "the node is shutting down");
  if (!req.is_object())
    return bad_request("a run request is a JSON object");
  workflow_ptr def;
  auto name = req.find("workflow");
  auto inline_def = req.find("definition");
  if ((name == req.end()) == (inline_def == req.end()))
    return bad_request("a run names a \"workflow\" or gives a \"definition\"");
  if (name != req.end()) {
    if (!name->is_string())
      return bad_request("\"workflow\" must be a string");
    def = st.defs.find(name->get<std::string>());
    if (!def)
      return make_error(status_code::not_found,
                        "no workflow named " + name->get<std::string>());
  } else {
    auto parsed = parse_workflow(*inline_def, "definition");
    if (auto* err = std::get_if<manifest_load_error>(&parsed))
      return bad_request(err->to_string());
    def = std::get<workflow_ptr>(parsed);
  }
  auto input = req.value("input", nlohmann::json::object());
  auto context = req.value("context", nlohmann::json::object());
  if (!context.is_object())
    return bad_request("\"context\" must be a JSON object");
  auto trace = req.find("trace_id");
  if (trace != req.end() && !trace->is_string())
    return bad_request("\"trace_id\" must be a string");
  if (trace != req.end())
    if (auto bad = check_trace_id(trace->get_ref<const std::string&>());
        !bad.empty())
      return bad_request(std::move(bad));
  auto async = req.find("async");
  if (async != req.end() && !async->is_boolean())
    return bad_request("\"async\" must be true or false");
  if (auto why = check_input(*def, input); !why.empty())
    return bad_request(std::move(why));
  // A run keeps its input and context for its whole life (workflow_run.hpp,
  // max_run_bytes): each is a payload.
  for (auto [part, what] : {std::pair{&input, "the run's input"},
                            std::pair{&context, "the run's context"}})
    if (auto why = bounded_output(*part, st.cfg.max_payload_bytes, what);
        !why.empty())
      return bad_request(std::move(why));
  auto id = st.start_run(def, std::move(input), std::move(context),
                         trace != req.end() ? trace->get<std::string>() : "",
                         0);
  if (id.empty())
    return make_error(status_code::unavailable,
                      "the run store of node " + st.cfg.node_id
                        + " cannot write the run (see its log)");
  if (async != req.end() && async->get<bool>()) {
    auto trace_id = st.find_run(id)->rec.trace_id;
    st.advance(id);
    // It may have ended already (every step skipped, say): say how.
    std::string status = "running";
    if (st.find_run(id) == nullptr) {
      try {
        if (auto rec = st.store->find(id))
          status = to_string(rec->status);
      } catch (const std::exception&) {
        ++st.counters.store_failures;
      }
    }
    return json_result(
      {{"run_id", id}, {"trace_id", trace_id}, {"status", status}});
  }
  auto promise = self->make_response_promise<nlohmann::json>();
  st.find_run(id)->waiters.push_back(promise);
  st.advance(id);
  return promise;
}

caf::result<nlohmann::json> runs_query(runner_actor self,
                                       const nlohmann::json& q) {
  auto& st = self->state;
  if (!q.is_object())
    return bad_request("a runs query is a JSON object");
  run_query query;
  if (auto i = q.find("workflow"); i != q.end() && !i->is_null()) {
    if (!i->is_string())
      return bad_request("\"workflow\" must be a string");
    query.workflow = i->get<std::string>();
  }
  if (auto i = q.find("status"); i != q.end() && !i->is_null()) {
    auto s = i->is_string() ? run_status_from(i->get<std::string>())
                            : std::nullopt;
    if (!s)
      return bad_request("\"status\" must be one of running, success, failed, "
                         "partial, cancelled, timed_out");
    query.status = s;
  }
  if (auto i = q.find("limit"); i != q.end() && !i->is_null()) {
    if (!i->is_number_integer() || i->get<int64_t>() < 1
        || i->get<int64_t>() > 10000)
      return bad_request("\"limit\" must be an integer from 1 to 10000");
    query.limit = i->get<size_t>();
  }
  try {
    auto out = nlohmann::json::array();
    std::vector<unreadable_run> unreadable;
    for (const auto& r : st.store->list(query, &unreadable))
      out.push_back(summary(r));
    // A row the store cannot read is shown for what it is, not left out.
    for (auto& u : unreadable)
      out.push_back({{"id", std::move(u.id)},
                     {"workflow", std::move(u.workflow)},
                     {"status", "unreadable"},
                     {"error", std::move(u.why)}});
    return json_result({{"runs", std::move(out)}});
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
}

caf::result<nlohmann::json> show_run(runner_actor self, const std::string& id) {
  auto& st = self->state;
  if (auto* run = st.find_run(id))
    return json_result(to_json(run->rec));
  try {
    if (auto rec = st.store->find(id))
      return json_result(to_json(*rec));
  } catch (const std::exception& e) {
    return make_error(status_code::unavailable, e.what());
  }
  return make_error(status_code::not_found, "no workflow run " + id);
}

caf::result<nlohmann::json> cancel_run(runner_actor self,
                                       const std::string& id) {
  auto& st = self->state;
  auto* run = st.find_run(id);
  if (run == nullptr) {
    auto shown = show_run(self, id);
    if (shown.flag == caf::rt_error)
      return shown;
    return make_error(status_code::invalid_argument,
                      "workflow run " + id + " has already ended");
  }
  if (!run->rec.parent_run.empty())
    return make_error(status_code::invalid_argument,
                      "run " + id + " is a step of run " + run->rec.parent_run
                        + "; cancel that run");
  // Answered when the run has ended, after its compensation.
  auto promise = self->make_response_promise<nlohmann::json>();
  run->waiters.push_back(promise);
  st.stop_run(*run, run_status::cancelled, "cancelled by an operator");
  return promise;
}

nlohmann::json stats(const workflow_runner_state& st) {
  const auto& c = st.counters;
  return {{"workflows", st.defs.active().size()},
          {"active_runs", st.runs.size()},
          {"store", st.store ? st.store->location() : ""},
          {"runs_started", c.started},
          {"runs_resumed", c.resumed},
          {"runs_succeeded", c.succeeded},
          {"runs_failed", c.failed},
          {"steps_run", c.steps_run},
          {"step_retries", c.step_retries},
          {"compensations", c.compensations},
          {"late_answers", c.late_answers},
          {"store_failures", c.store_failures},
          {"runs_unreadable", c.unreadable}};
}

workflows_actor::behavior_type runner_behavior(runner_actor self,
                                               workflow_runner_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.cfg = std::move(cfg);
  st.log = log::get("workflows");
  st.wall_base = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  st.steady_base = self->clock().now();
  try {
    auto dir = std::filesystem::path(st.cfg.store_path).parent_path();
    std::error_code ec;
    if (!dir.empty())
      std::filesystem::create_directories(dir, ec);
    st.store = open_sqlite_run_store(st.cfg.store_path, st.cfg.sync,
                                     st.cfg.max_payload_bytes);
  } catch (const std::exception& e) {
    // Ends at once (the supervisor sees why); the behaviour is never used.
    st.log->error("the workflow runner of {} cannot start: {}",
                  st.cfg.node_id, e.what());
    self->quit(make_error(status_code::unavailable, e.what()));
  }
  if (st.store) {
    auto report = st.defs.load(st.cfg.workflows_dir);
    for (const auto& f : report["failed"])
      st.log->error("{}", f.value("text", std::string{}));
    st.resume_all();
  }
  auto local = [self] { return from_this_node(self); };
  return {
    [self, local](atom::workflows) -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return json_result(self->state.defs.describe());
    },
    [self, local](atom::workflows, const std::string& name)
      -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      auto def = self->state.defs.find(name);
      if (!def)
        return make_error(status_code::not_found, "no workflow named " + name);
      return json_result({{"name", def->name},
                          {"file", def->file},
                          {"definition", def->source}});
    },
    [self, local](atom::reload) -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      auto& st = self->state;
      return json_result(st.defs.load(st.cfg.workflows_dir));
    },
    [self, local](atom::run, const nlohmann::json& req)
      -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return run_request(self, req);
    },
    [self, local](atom::runs, const nlohmann::json& q)
      -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return runs_query(self, q);
    },
    [self, local](atom::runs, const std::string& id)
      -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return show_run(self, id);
    },
    [self, local](atom::cancel, const std::string& id)
      -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return cancel_run(self, id);
    },
    [self, local](atom::drain) -> caf::result<caf::ok_atom> {
      if (!local())
        return refused_remote();
      // Runs under way stay `running` in the store: the next start resumes
      // them. Nothing new starts from here on.
      auto& st = self->state;
      st.draining = true;
      // Whoever waits for a run gets an answer now; the run itself stays
      // `running` in the store and resumes at the next start.
      for (auto& [id, run] : st.runs) {
        for (auto& waiter : run.waiters)
          waiter.deliver(make_error(status_code::unavailable,
                                    "node " + st.cfg.node_id
                                      + " is shutting down; workflow run "
                                      + id + " resumes at its next start"));
        run.waiters.clear();
      }
      return caf::ok_atom::value;
    },
    [self, local](atom::stats) -> caf::result<nlohmann::json> {
      if (!local())
        return refused_remote();
      return json_result(stats(self->state));
    },
    [self](atom::tick) {
      if (self->current_sender() != self->ctrl())
        return;
      auto& st = self->state;
      st.tick_armed = false;
      st.on_tick();
      st.arm_tick();
    },
  };
}

} // namespace

namespace detail {

workflow_runner_state::~workflow_runner_state() {
  for (auto& [id, run] : runs)
    for (auto& waiter : run.waiters)
      if (waiter.pending())
        waiter.deliver(make_error(status_code::unavailable,
                                  "the workflow runner of node " + cfg.node_id
                                    + " stopped; workflow run " + id
                                    + " resumes when it starts again"));
}

void workflow_runner_state::arm_tick() {
  if (tick_armed || runs.empty())
    return;
  tick_armed = true;
  self->delayed_send(self, cfg.tick, atom::tick_v);
}

} // namespace detail

workflows_actor spawn_workflow_runner(caf::actor_system& sys,
                                      workflow_runner_config cfg) {
  return sys.spawn(runner_behavior, std::move(cfg));
}

} // namespace mesh
