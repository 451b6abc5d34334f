#include "actors/node_supervisor.hpp"

#include <deque>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/local_only.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/status.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

using clock = std::chrono::steady_clock;

struct child_record {
  supervised_child spec;
  caf::actor_addr watching; ///< the instance being watched
  uint32_t restarts = 0;
  bool alive = true;
  std::string last_failure;
};

struct supervisor_state {
  static inline const char* name = "mesh.node_supervisor";
  supervisor_config cfg;
  std::vector<child_record> children;
  std::deque<clock::time_point> recent; ///< restarts within the window
  bool stopping = false;
  bool gave_up = false;
  std::shared_ptr<spdlog::logger> log = log::get("node");
};

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

// Why an actor ended, in words for the log and `meshctl status`.
std::string death_reason(const caf::error& reason) {
  if (reason.category() == caf::atom("exit")) {
    switch (static_cast<caf::exit_reason>(reason.code())) {
      case caf::exit_reason::unhandled_exception:
        return "an exception escaped it";
      case caf::exit_reason::kill:
        return "it was killed";
      case caf::exit_reason::unreachable:
        return "it became unreachable";
      default:
        return "it was stopped (" + caf::to_string(reason) + ")";
    }
  }
  if (reason.category() == caf::atom("system")
      && static_cast<caf::sec>(reason.code()) == caf::sec::runtime_error)
    return "an exception escaped it";
  return error_text(reason);
}

void watch(self_ptr self, child_record& c, const caf::actor& a) {
  c.watching = a.address();
  if (a)
    self->monitor(a);
}

void give_up(self_ptr self, const std::string& what) {
  auto& st = self->state;
  st.gave_up = true;
  auto msg = what + "; the node stops so that its supervisor restarts it";
  st.log->error("{}", msg);
  if (st.cfg.on_failure)
    st.cfg.on_failure(msg);
}

void on_death(self_ptr self, child_record& c, const caf::error& reason) {
  auto& st = self->state;
  c.alive = false;
  c.last_failure = death_reason(reason);
  auto what = "the " + c.spec.name + " of node " + st.cfg.node_id
              + " stopped unexpectedly (" + c.last_failure + ")";
  if (!c.spec.restart)
    return give_up(self, what + " and cannot be restarted on its own");
  auto now = clock::now();
  while (!st.recent.empty() && now - st.recent.front() > st.cfg.window)
    st.recent.pop_front();
  if (st.recent.size() >= st.cfg.max_restarts)
    return give_up(self, what + "; " + std::to_string(st.recent.size())
                           + " restarts within "
                           + std::to_string(st.cfg.window.count())
                           + " ms is the limit (limits.max_restarts)");
  st.log->error("{}; restarting it", what);
  st.recent.push_back(now);
  auto successor = c.spec.restart();
  if (!successor)
    return give_up(self, what + " and its successor did not start");
  ++c.restarts;
  c.alive = true;
  watch(self, c, successor);
  st.log->warn("the {} of node {} runs again (restart {})", c.spec.name,
               st.cfg.node_id, c.restarts);
}

supervisor_actor::behavior_type supervisor(self_ptr self,
                                           supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (auto& spec : st.cfg.children) {
    st.children.push_back(child_record{spec, {}, 0, true, {}});
    watch(self, st.children.back(), spec.current());
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.stopping || st.gave_up)
      return;
    for (auto& c : st.children)
      if (c.watching == dm.source)
        return on_death(self, c, dm.reason);
  });
  return {
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      self->state.stopping = true;
      return caf::ok_atom::value;
    },
    [self](atom::kill, const std::string& name) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      for (auto& c : self->state.children)
        if (c.spec.name == name) {
          // Answer first: the console may be asking to fail itself.
          auto rp = self->make_response_promise<caf::ok_atom>();
          rp.deliver(caf::ok_atom::value);
          self->send_exit(c.spec.current(),
                          caf::exit_reason::unhandled_exception);
          return rp;
        }
      std::string names;
      for (auto& c : self->state.children)
        names += (names.empty() ? "" : ", ") + c.spec.name;
      return make_error(status_code::invalid_argument,
                        "actor: one of " + names);
    },
    [self](atom::stats) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& st = self->state;
      auto list = nlohmann::json::array();
      for (const auto& c : st.children) {
        nlohmann::json row{{"name", c.spec.name},
                           {"health", c.alive ? "running" : "down"},
                           {"restartable", static_cast<bool>(c.spec.restart)},
                           {"restarts", c.restarts}};
        if (!c.last_failure.empty())
          row["last_failure"] = c.last_failure;
        list.push_back(std::move(row));
      }
      return json_result(std::move(list));
    },
  };
}

} // namespace

supervisor_actor spawn_node_supervisor(caf::actor_system& sys,
                                       supervisor_config cfg) {
  return sys.spawn(supervisor, std::move(cfg));
}

} // namespace mesh
