#include "actors/console.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/console_commands.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

nlohmann::json console_ok(nlohmann::json result) {
  return {{"ok", true}, {"status", "ok"}, {"result", std::move(result)}};
}

nlohmann::json console_error(status_code code, std::string message) {
  return {{"ok", false},
          {"status", to_string(code)},
          {"code", static_cast<int>(code)},
          {"error", std::move(message)}};
}

nlohmann::json console_error(const caf::error& err) {
  return console_error(to_status_code(err), error_text(err));
}

bool require_actor(const caf::actor& actor, const char* what,
                   const console_config& env, const console_reply& reply) {
  if (actor)
    return true;
  reply(console_error(status_code::unavailable,
                      "node " + env.node_id + " has no " + what));
  return false;
}

const std::string* string_arg(const nlohmann::json& args, const char* name) {
  auto i = args.find(name);
  if (i == args.end() || !i->is_string())
    return nullptr;
  return i->get_ptr<const std::string*>();
}

namespace {

struct console_state {
  static inline const char* name = "mesh.console";
  console_config cfg;
  console_command_table commands;
  std::shared_ptr<spdlog::logger> log;
  size_t pending = 0; // commands not yet answered
  bool closing = false; // drained: new commands are refused at once
  std::vector<caf::response_promise> drain_waiters;

  void answered() {
    if (--pending == 0) {
      for (auto& rp : drain_waiters)
        rp.deliver(caf::ok_atom::value);
      drain_waiters.clear();
    }
  }
};

caf::behavior console_behavior(caf::stateful_actor<console_state>* self,
                               console_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.log = log::get("console");
  add_core_commands(st.commands);
  add_cluster_commands(st.commands);
  add_strategy_commands(st.commands);
  add_topic_commands(st.commands);
  return {
    [self](atom::update, const std::string& console_address) {
      // Sent by the node once the console's port is known (port 0).
      self->state.cfg.console = console_address;
    },
    [self](atom::router) {
      // Clients outside the mesh (meshbench, programs of users) send
      // pb::DispatchRequest to the router directly, in binary.
      return self->state.cfg.router;
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      // Shutdown: answers once every command received so far is answered.
      auto& st = self->state;
      st.closing = true;
      if (st.pending == 0)
        return caf::ok_atom::value;
      st.drain_waiters.push_back(self->make_response_promise());
      return caf::delegated<caf::ok_atom>{};
    },
    [self](atom::console, const std::string& text) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.closing)
        return console_error(status_code::unavailable,
                             "node " + st.cfg.node_id + " is shutting down")
          .dump();
      auto rp = self->make_response_promise<std::string>();
      ++st.pending;
      auto reply = [self, rp](nlohmann::json x) mutable {
        if (!rp.pending())
          return;
        self->state.log->debug("answered: {}", x.value("status", "?"));
        rp.deliver(x.dump(-1, ' ', false,
                          nlohmann::json::error_handler_t::replace));
        self->state.answered();
      };
      auto args = nlohmann::json::parse(text, nullptr, false);
      if (args.is_discarded() || !args.is_object()) {
        reply(console_error(status_code::invalid_argument,
                            "console command is not a JSON object"));
        return rp;
      }
      auto* name = string_arg(args, "cmd");
      if (name == nullptr) {
        reply(console_error(status_code::invalid_argument,
                            "console command has no \"cmd\""));
        return rp;
      }
      auto i = st.commands.find(*name);
      if (i == st.commands.end()) {
        reply(console_error(status_code::not_found,
                            "unknown console command '" + *name + "'"));
        return rp;
      }
      st.log->debug("command {}", *name);
      try {
        i->second(self, st.cfg, args, reply);
      } catch (const std::exception& e) {
        // Malformed arguments (wrong JSON types) end up here.
        reply(console_error(status_code::invalid_argument,
                            "bad arguments for '" + *name + "': " + e.what()));
      }
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_console(caf::actor_system& sys, console_config cfg) {
  return sys.spawn(console_behavior, std::move(cfg));
}

} // namespace mesh
