#include "actors/console/console.hpp"

#include <limits>
#include <string_view>
#include <openssl/crypto.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/console/client_ingress.hpp"
#include "actors/console/commands/console_commands.hpp"
#include "protocol/json/envelope.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

nlohmann::json reload_reply(nlohmann::json report, const char* what) {
  if (!report.is_object())
    return console_error(status_code::internal,
                         std::string{"the "} + what
                           + " reload answered something other than a JSON "
                             "object");
  auto failed = report.value("failed", nlohmann::json::array());
  if (failed.empty())
    return console_ok(std::move(report));
  auto doc = console_error(status_code::invalid_argument,
                           std::to_string(failed.size()) + " " + what
                             + " file(s) failed to load");
  doc["result"] = std::move(report);
  return doc;
}

nlohmann::json console_ok(nlohmann::json result) {
  return envelope_ok(std::move(result));
}

nlohmann::json console_error(status_code code, std::string message) {
  return envelope_error(code, std::move(message));
}

nlohmann::json console_error(const caf::error& err) {
  return console_error(to_status_code(err), error_text(err));
}


const std::string* string_arg(const nlohmann::json& args, const char* name) {
  auto i = args.find(name);
  if (i == args.end() || !i->is_string())
    return nullptr;
  return i->get_ptr<const std::string*>();
}

bool read_deadline_ms(const nlohmann::json& args, uint32_t& out,
                      const console_reply& reply) {
  auto i = args.find("deadline_ms");
  if (i == args.end())
    return true;
  constexpr auto most = std::numeric_limits<uint32_t>::max();
  if (!i->is_number_unsigned() || i->get<uint64_t>() > most) {
    reply(console_error(status_code::invalid_argument,
                        "deadline_ms must be an integer from 0 to "
                          + std::to_string(most)));
    return false;
  }
  out = static_cast<uint32_t>(i->get<uint64_t>());
  return true;
}

bool token_accepted(std::string_view configured, std::string_view given) {
  // Compared in time that does not depend on where the first difference is.
  return configured.empty()
         || (given.size() == configured.size()
             && CRYPTO_memcmp(given.data(), configured.data(),
                              configured.size())
                  == 0);
}

namespace {

struct console_state {
  static inline const char* name = "mesh.console";
  console_config cfg;
  client_ingress_actor clients;
  uint64_t refused = 0;
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

void add_all_commands(console_command_table& table) {
  add_core_commands(table);
  add_cluster_commands(table);
  add_strategy_commands(table);
  add_topic_commands(table);
  add_task_commands(table);
  add_pipeline_commands(table);
  add_workflow_commands(table);
  add_trace_commands(table);
}

console_actor::behavior_type
console_behavior(console_actor::stateful_pointer<console_state> self,
                               console_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.log = log::get("console");
  add_all_commands(st.commands);
  st.clients = spawn_client_ingress(self->system(), st.cfg.node_id,
                                    st.cfg.router,
                                    caf::actor_cast<caf::actor>(self),
                                    st.cfg.token.empty());
  // Whether the token shown is right (any, when none is configured).
  auto token_ok = [self](const std::string& token) {
    auto& st = self->state;
    if (token_accepted(st.cfg.token, token))
      return true;
    const auto& src = self->current_sender();
    if (st.refused++ % 1000 < 3)
      st.log->warn("console of {} refused a command with a wrong or missing "
                   "token from {} ({} so far)",
                   st.cfg.node_id,
                   src ? caf::to_string(src->node()) : "an anonymous sender",
                   st.refused);
    return false;
  };
  auto denied = [self] {
    return make_error(status_code::permission_denied,
                      "the console of node " + self->state.cfg.node_id
                        + " needs a valid token (meshctl --token or "
                          "MESH_TOKEN)");
  };
  // Commands that only the node itself may give.
  auto local = [self] {
    const auto& src = self->current_sender();
    return src && src->node() == self->node();
  };
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return make_error(status_code::invalid_argument,
                        "not a Mesh console request");
    });
  self->set_down_handler([](caf::down_msg&) {});
  return {
    [self, local](atom::update, const std::string& console_address,
                  const std::string& http_address) {
      // Sent by the node once the ports are known (port 0).
      if (!local())
        return;
      self->state.cfg.console = console_address;
      if (!http_address.empty())
        self->state.cfg.http = http_address;
    },
    [self, token_ok, denied](atom::router,
                             const std::string& token) -> caf::result<caf::actor> {
      // Clients outside the mesh (meshbench, programs of users) send
      // pb::DispatchRequest in binary, through the client ingress.
      if (!token_ok(token))
        return denied();
      if (const auto& src = self->current_sender())
        self->send(self->state.clients, atom::add_v, src->node());
      return caf::actor_cast<caf::actor>(self->state.clients);
    },
    [self, local](atom::drain) -> caf::result<caf::ok_atom> {
      // Shutdown: answers once every command received so far is answered.
      if (!local())
        return make_error(status_code::permission_denied,
                          "only the node itself drains its console");
      auto& st = self->state;
      st.closing = true;
      if (st.pending == 0)
        return caf::ok_atom::value;
      st.drain_waiters.push_back(self->make_response_promise());
      return caf::delegated<caf::ok_atom>{};
    },
    [self, token_ok](atom::console, const std::string& token,
                     const std::string& text) -> caf::result<std::string> {
      auto& st = self->state;
      if (!token_ok(token)) {
        auto refusal = console_error(status_code::permission_denied,
                                     "the console of node " + st.cfg.node_id
                                       + " needs a valid token (meshctl "
                                         "--token or MESH_TOKEN)");
        refusal["unauthenticated"] = true; // meshctl's exit code 4
        return refusal.dump();
      }
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
      // The command and its payload: the payload may nest up to the limit.
      auto parsed = parse_json(text, max_json_depth() + 2);
      if (!parsed) {
        reply(console_error(status_code::invalid_argument,
                            "console command: " + error_text(parsed.error())
                              + "; payloads may nest "
                              + std::to_string(max_json_depth())
                              + " levels (limits.max_json_depth)"));
        return rp;
      }
      auto args = std::move(*parsed);
      if (!args.is_object()) {
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
      } catch (const nlohmann::json::exception& e) {
        // An argument of the wrong JSON type read as another ends up here
        // (type_error); said without the library's "[json.exception...] ".
        std::string_view what = e.what();
        if (auto end = what.find("] "); !what.empty() && what[0] == '['
                                         && end != std::string_view::npos)
          what.remove_prefix(end + 2);
        bool type = dynamic_cast<const nlohmann::json::type_error*>(&e);
        reply(console_error(status_code::invalid_argument,
                            "bad arguments for '" + *name + "': "
                              + (type ? "an argument has the wrong JSON type ("
                                      : "an argument cannot be read (")
                              + std::string{what} + ")"));
      } catch (const std::exception& e) {
        reply(console_error(status_code::invalid_argument,
                            "bad arguments for '" + *name + "': " + e.what()));
      }
      return rp;
    },
  };
}

} // namespace

const std::vector<std::string>& console_command_names() {
  static const std::vector<std::string> names = [] {
    console_command_table table;
    add_all_commands(table);
    std::vector<std::string> out;
    for (const auto& [name, cmd] : table)
      out.push_back(name);
    return out;
  }();
  return names;
}

console_actor spawn_console(caf::actor_system& sys, console_config cfg) {
  return sys.spawn(console_behavior, std::move(cfg));
}

} // namespace mesh
