#pragma once

// The fixture of the workflow runner suites: a runner on CAF's
// deterministic scheduler, with a workflows folder and a run store in a
// temp dir, whose `call` steps go to a fake router that lets the test
// decide when and how each request is answered.
//
// The fake router keeps every DispatchRequest as a response promise in a
// shared log (method path, JSON params, arrival order). A path with a
// scripted reply (or an auto handler) is answered at once; every other
// request waits until the test answers it (`answer`, `fail`). Whether a
// path is idempotent comes from a per-path map (default 0).

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/routing/request_router.hpp"
#include "actors/workflows/workflow_runner.hpp"
#include "check.hpp"
#include "fixtures.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/status.hpp"
#include "temp_dir.hpp"

namespace mesh::test {

using nlohmann::json;
using namespace std::chrono_literals;

/// How the fake router answers one request: by default from node n2 (its
/// handler ran, and succeeded or failed); `no_node` is a request no node
/// took (handled_by empty, as while a restarted node rejoins its peers).
struct fake_reply {
  status_code code = status_code::ok;
  json payload = json::object();
  std::string message;
  std::string node = "n2";

  static fake_reply ok(json payload) {
    return {status_code::ok, std::move(payload), {}};
  }
  static fake_reply error(status_code code, std::string message) {
    return {code, nullptr, std::move(message)};
  }
  static fake_reply no_node(status_code code, std::string message) {
    return {code, nullptr, std::move(message), {}};
  }
};

inline pb::DispatchResponse make_response(const fake_reply& r) {
  pb::DispatchResponse resp;
  resp.mutable_status()->set_code(static_cast<pb::StatusCode>(r.code));
  resp.mutable_status()->set_message(r.message);
  if (r.code == status_code::ok)
    *resp.mutable_payload() = json_to_any(r.payload);
  resp.set_handled_by(r.node);
  return resp;
}

/// One DispatchRequest the fake router received.
struct held_call {
  size_t index = 0; ///< in router_log::calls
  std::string path; ///< ns/Service/Method
  json params;
  pb::DispatchRequest req;
  caf::typed_response_promise<pb::DispatchResponse> promise;
  bool answered = false;
  fake_reply reply; ///< once answered
};

using held_call_ptr = std::shared_ptr<held_call>;

/// What the fake router saw and how it answers.
struct router_log {
  std::vector<held_call_ptr> calls; ///< arrival order
  /// Answered at once, front first, while not empty.
  std::map<std::string, std::deque<fake_reply>> script;
  /// Answered at once when no script is left for the path.
  std::map<std::string, std::function<fake_reply(const json&)>> handlers;
  std::map<std::string, int32_t> idempotent; ///< default 0
  std::vector<std::string> idempotent_asked;

  /// Answers `path` at once with its params as the output.
  void echo(const std::string& path) {
    handlers[path] = [](const json& params) { return fake_reply::ok(params); };
  }

  std::vector<held_call_ptr> in_flight() const {
    std::vector<held_call_ptr> out;
    for (const auto& c : calls)
      if (!c->answered)
        out.push_back(c);
    return out;
  }

  std::vector<std::string> in_flight_paths() const {
    std::vector<std::string> out;
    for (const auto& c : in_flight())
      out.push_back(c->path);
    return out;
  }

  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      out.push_back(c->path);
    return out;
  }

  std::vector<held_call_ptr> of(const std::string& path) const {
    std::vector<held_call_ptr> out;
    for (const auto& c : calls)
      if (c->path == path)
        out.push_back(c);
    return out;
  }

  /// The one unanswered call of `path` (fails the test unless exactly one).
  held_call& pending(const std::string& path) {
    held_call_ptr found;
    size_t n = 0;
    for (const auto& c : calls)
      if (c->path == path && !c->answered) {
        found = c;
        ++n;
      }
    CAF_REQUIRE_EQUAL(n, 1u);
    return *found;
  }
};

/// The router's interface, plus (atom::sweep, i): deliver the reply the
/// test has set for call i. A response promise must be delivered from its
/// own actor: the test's thread has no execution context for it.
using fake_router_actor
    = router_actor::extend<caf::reacts_to<atom::sweep, uint64_t>>;

inline fake_router_actor::behavior_type
fake_router(fake_router_actor::pointer self, std::shared_ptr<router_log> log) {
  auto deliver = [](held_call& call, const fake_reply& r) {
    call.answered = true;
    call.reply = r;
    call.promise.deliver(make_response(r));
  };
  return {
      [=](pb::DispatchRequest& req)
          -> caf::typed_response_promise<pb::DispatchResponse> {
        auto call = std::make_shared<held_call>();
        call->index = log->calls.size();
        call->path = req.ref().namespace_() + "/" + req.ref().service() + "/"
                     + req.ref().method();
        auto params = any_to_json(req.payload());
        call->params = params ? *params : json{"<not json>"};
        call->req = req;
        call->promise = self->make_response_promise<pb::DispatchResponse>();
        log->calls.push_back(call);
        auto& queue = log->script[call->path];
        if (!queue.empty()) {
          auto r = queue.front();
          queue.pop_front();
          deliver(*call, r);
        } else if (auto h = log->handlers.find(call->path);
                   h != log->handlers.end()) {
          deliver(*call, h->second(call->params));
        }
        return call->promise;
      },
      [](pb::ServeRequest&) { return pb::ServeResponse{}; },
      [](atom::update, handler_table_ptr&) {},
      [](atom::update, peer_table_ptr&) {},
      [](atom::drain) { return caf::ok_atom::value; },
      [](atom::stats) { return json::object(); },
      [](atom::sweep) {},
      [](atom::batch) {},
      [](atom::batch, const std::string&, pb::ServeReplies&) {},
      [](data_replies&) {},
      [](data_link_down&) {},
      [](atom::batch, pb::ServeBatch&)
        -> caf::result<pb::ServeReplies, pb::ServeBatch> {
        return {pb::ServeReplies{}, pb::ServeBatch{}};
      },
      [=](atom::sweep, uint64_t i) {
        auto& call = *log->calls.at(i);
        call.promise.deliver(make_response(call.reply));
      },
      [](atom::heartbeat, pb::TaskHeartbeat&) {},
      [](atom::policies, std::string&) { return json::array(); },
      [](atom::reload) { return json::object(); },
      [](atom::hooks) { return json::object(); },
      [](atom::breakers) { return json::array(); },
      [=](atom::idempotent, std::string& path) {
        log->idempotent_asked.push_back(path);
        auto i = log->idempotent.find(path);
        return i == log->idempotent.end() ? int32_t{0} : i->second;
      },
  };
}

/// A reply that arrives later (a run held by the fake router).
struct reply_slot {
  std::optional<json> value;
  std::optional<caf::error> error;

  bool done() const {
    return value.has_value() || error.has_value();
  }
};

using reply_slot_ptr = std::shared_ptr<reply_slot>;

/// Step `id` of a run document (fails the test when it is missing).
inline json step_of(const json& run, const std::string& id) {
  for (const auto& s : run.at("steps"))
    if (s.at("id") == id)
      return s;
  CAF_FAIL("run has no step " << id);
  return {};
}

/// The output of step `id` of a run document (a copy: safe in CAF_CHECK_*).
inline json output_of(const json& run, const std::string& id) {
  return step_of(run, id).at("output");
}

inline std::string str(const json& j, const std::string& key) {
  return j.at(key).get<std::string>();
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct workflow_fixture : actor_fixture {
  temp_dir dir;
  std::shared_ptr<router_log> log = std::make_shared<router_log>();
  fake_router_actor router;
  workflows_actor runner;
  caf::actor wf; ///< runner, untyped (for ask)
  size_t max_payload_bytes = 0; ///< the runner's bound on stored runs

  workflow_fixture() {
    std::filesystem::create_directories(dir.file("workflows"));
    router = sys.spawn(fake_router, log);
  }

  ~workflow_fixture() {
    stop({wf, caf::actor_cast<caf::actor>(router)});
  }

  void add_workflow(const json& doc) {
    dir.write("workflows/" + doc.at("name").get<std::string>() + ".json",
              doc.dump());
  }

  void start() {
    workflow_runner_config cfg;
    cfg.node_id = "n1";
    cfg.workflows_dir = dir.file("workflows");
    cfg.store_path = dir.file("runs.db");
    cfg.sync = sync_mode::off;
    cfg.max_payload_bytes = max_payload_bytes;
    cfg.tick = 10ms;
    cfg.router = router_actor{router};
    runner = spawn_workflow_runner(sys, cfg);
    wf = caf::actor_cast<caf::actor>(runner);
    run();
  }

  /// Kills the runner (a crash) and starts a new one on the same store.
  void restart() {
    self->send_exit(wf, caf::exit_reason::kill);
    run();
    start();
  }

  /// Sends `xs` to the runner and returns at once; the reply lands in the
  /// slot whenever the runner sends it.
  template<class... Ts>
  reply_slot_ptr post(Ts... xs) {
    auto slot = std::make_shared<reply_slot>();
    auto target = wf;
    sys.spawn([slot, target, xs...](caf::event_based_actor* client) {
      client->request(target, caf::infinite, xs...)
          .then([slot](json& j) { slot->value = std::move(j); },
                [slot](caf::error& e) { slot->error = std::move(e); });
    });
    run();
    return slot;
  }

  /// Sends (atom::run, req); the reply comes when the run ends.
  reply_slot_ptr post_run(const json& req) {
    return post(atom::run_v, req);
  }

  /// Runs `req` to its end (every call must be answered at once).
  json run_now(const json& req) {
    return ask<json>(wf, atom::run_v, req);
  }

  json show(const std::string& id) {
    return ask<json>(wf, atom::runs_v, id);
  }

  std::string status_of(const std::string& id) {
    return str(show(id), "status");
  }

  /// Lets the fake router answer `call` with `r`, and runs.
  void reply(held_call& call, const fake_reply& r) {
    CAF_REQUIRE(!call.answered);
    call.answered = true;
    call.reply = r;
    self->send(router, atom::sweep_v, static_cast<uint64_t>(call.index));
    run();
  }

  /// Answers the one call of `path` in flight with `output`.
  void answer(const std::string& path, json output = json::object()) {
    reply(log->pending(path), fake_reply::ok(std::move(output)));
  }

  void fail(const std::string& path, status_code code,
            const std::string& why = "it broke") {
    reply(log->pending(path), fake_reply::error(code, why));
  }

  /// Moves simulated time by `d` in 10 ms steps (timers fire in order).
  void wait(caf::timespan d) {
    for (auto left = d; left.count() > 0; left -= caf::timespan{10ms}) {
      sched.advance_time(10ms);
      run();
    }
  }
};

/// A call step.
inline json call_step(const std::string& id, const std::string& path,
                      json params = json::object(),
                      json extra = json::object()) {
  json s{{"id", id}, {"call", path}, {"params", std::move(params)}};
  s.update(extra);
  return s;
}

} // namespace mesh::test
