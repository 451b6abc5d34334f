#include "actors/routing/registry/registry.hpp"

#include <map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/local_only.hpp"
#include "actors/routing/gather.hpp"
#include "actors/handlers/handler.hpp"
#include "actors/handlers/handler_executor.hpp"
#include "actors/handlers/handler_table.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

/// What a restarted registry starts from: the handlers (its successor spawns
/// fresh executors for them), namespaces, validator and subscribers.
struct registry_memory {
  bool saved = false;
  std::vector<handler_spec> specs;
  std::optional<std::set<std::string, std::less<>>> declared;
  registry_validator_ptr validator;
  std::vector<caf::actor> subscribers;
  uint64_t version = 0;
};

std::shared_ptr<registry_memory> make_registry_memory() {
  return std::make_shared<registry_memory>();
}

namespace {

struct registered_handler {
  handler_spec spec;
  caf::actor executor;
  inline_call_ptr fast;
};

struct registry_state {
  static inline const char* name = "mesh.registry";

  registry_actor::pointer self = nullptr;
  registry_config cfg;
  std::shared_ptr<spdlog::logger> log;
  std::map<service_key, registered_handler> handlers;
  std::optional<std::set<std::string, std::less<>>> declared;
  registry_validator_ptr validator;
  std::vector<caf::actor> subscribers;
  std::vector<caf::actor> retiring; // removed, still finishing calls
  uint64_t version = 0;
  handler_table_ptr table;
  /// Executors restarted per handler since it was registered.
  static constexpr uint32_t max_executor_restarts = 5;
  std::map<service_key, uint32_t> executor_restarts;

  // The executors end with the registry, whatever ends it: a successor
  // spawns its own, and a node never waits at shutdown for orphans.
  ~registry_state() {
    for (const auto& e : executors())
      caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  }

  void keep() {
    auto& m = cfg.memory;
    if (!m)
      return;
    m->saved = true;
    m->specs.clear();
    for (const auto& [key, h] : handlers)
      m->specs.push_back(h.spec);
    m->declared = declared;
    m->validator = validator;
    m->subscribers = subscribers;
    m->version = version;
  }

  /// A restarted registry takes over what its predecessor kept.
  void adopt(const registry_memory& m) {
    declared = m.declared;
    validator = m.validator;
    subscribers = m.subscribers;
    version = m.version;
    for (auto spec : m.specs)
      if (auto err = add(spec, false))
        log->error("restart: {}", caf::to_string(err));
    log->info("restarted with {} handlers", handlers.size());
  }

  std::set<std::string, std::less<>> served() const {
    if (declared)
      return *declared;
    std::set<std::string, std::less<>> result;
    for (const auto& [key, h] : handlers)
      result.insert(key.ns);
    return result;
  }

  void publish() {
    auto t = std::make_shared<handler_table>();
    t->version = ++version;
    t->namespaces = served();
    t->validator = validator;
    for (const auto& [key, h] : handlers)
      if (t->serves(key.ns))
        t->active.emplace(key, handler_route{h.executor,
                                             h.spec.options.idempotent,
                                             h.fast});
    table = std::move(t);
    for (const auto& s : subscribers)
      caf::anon_send(s, atom::update_v, table);
    keep();
  }

  caf::error add(handler_spec& spec, bool announce = true) {
    if (auto err = check_service_key(spec.key); !err.empty())
      return make_error(status_code::invalid_argument,
                        "cannot register handler: " + err);
    if (handlers.count(spec.key) > 0)
      return make_error(status_code::invalid_argument,
                        "handler " + to_string(spec.key)
                          + " is already registered on " + cfg.node_id);
    if (spec.kind == handler_kind::actor ? !spec.actor : !spec.fn)
      return make_error(status_code::invalid_argument,
                        "handler " + to_string(spec.key)
                          + " has no function or actor");
    executor_config ec;
    ec.node_id = cfg.node_id;
    ec.spec = spec;
    ec.max_concurrency = cfg.max_concurrency;
    ec.max_queue = cfg.max_queue;
    ec.default_deadline = cfg.default_deadline;
    ec.max_deadline = cfg.max_deadline;
    ec.runner_factory = cfg.runner_factory;
    ec.heartbeat = cfg.heartbeat;
    ec.traces = cfg.traces;
    if (spec.options.non_blocking && spec.kind != handler_kind::actor)
      ec.fast = std::make_shared<inline_call>(
        spec.key, spec.fn, cfg.node_id, cfg.default_deadline,
        spec.options.max_deadline.count() > 0 ? spec.options.max_deadline
                                              : cfg.max_deadline);
    if (ec.fast)
      ec.fast->set_heartbeat(cfg.heartbeat);
    auto fast = ec.fast;
    auto exec = caf::actor_cast<caf::actor>(
      spawn_handler_executor(self->system(), std::move(ec)));
    self->monitor(exec);
    auto key = spec.key;
    log->info("registered {} handler {}", to_string(spec.kind),
              to_string(key));
    handlers.emplace(key, registered_handler{std::move(spec), exec, fast});
    if (announce)
      publish();
    return caf::none;
  }

  caf::error remove(const std::string& path) {
    auto key = parse_service_path(path);
    auto i = key ? handlers.find(*key) : handlers.end();
    if (i == handlers.end())
      return make_error(status_code::not_found,
                        "handler " + path + " is not registered on "
                          + cfg.node_id);
    auto exec = i->second.executor;
    executor_restarts.erase(i->first);
    handlers.erase(i);
    publish();
    // Stop routing first, then let the executor finish what it has.
    retiring.push_back(exec);
    // With the registry as sender: executors take commands from this node
    // only, and an anonymous message could come from anywhere.
    caf::send_as(caf::actor_cast<caf::actor>(self), exec, atom::retire_v);
    log->info("removed handler {}", path);
    return caf::none;
  }

  std::vector<caf::actor> executors() const {
    std::vector<caf::actor> result;
    for (const auto& [key, h] : handlers)
      result.push_back(h.executor);
    result.insert(result.end(), retiring.begin(), retiring.end());
    return result;
  }

  nlohmann::json describe(const service_key& key,
                          const registered_handler& h) const {
    return {{"handler", to_string(key)},
            {"namespace", key.ns},
            {"service", key.service},
            {"method", key.method},
            {"kind", to_string(h.spec.kind)},
            {"active", table && table->serves(key.ns)},
            {"idempotent", h.spec.options.idempotent},
            {"description", h.spec.options.description}};
  }
};

registry_actor::behavior_type
registry_behavior(registry_actor::stateful_pointer<registry_state> self,
                  registry_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("registry");
  if (cfg.namespaces)
    st.declared.emplace(cfg.namespaces->begin(), cfg.namespaces->end());
  st.cfg = std::move(cfg);
  if (st.cfg.memory && st.cfg.memory->saved)
    st.adopt(*st.cfg.memory);
  st.publish();
  for (const auto& s : st.subscribers)
    self->monitor(s);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (erase_actor(st.subscribers, dm.source)) {
      st.keep();
      return;
    }
    auto& r = st.retiring;
    auto before = r.size();
    r.erase(std::remove_if(r.begin(), r.end(),
                           [&](const caf::actor& a) {
                             return a.address() == dm.source;
                           }),
            r.end());
    if (r.size() != before)
      return;
    // An executor of a live handler died (a bug in Mesh): it is restarted,
    // like the node's own actors, up to executor_restarts per handler; its
    // calls in flight were answered `unavailable` as it ended.
    for (auto i = st.handlers.begin(); i != st.handlers.end(); ++i) {
      if (i->second.executor.address() != dm.source)
        continue;
      auto key = i->first;
      auto spec = std::move(i->second.spec);
      st.handlers.erase(i);
      auto& restarts = st.executor_restarts[key];
      if (++restarts > registry_state::max_executor_restarts) {
        st.log->error("executor of {} died ({}) after {} restarts: the "
                      "handler is removed",
                      to_string(key), caf::to_string(dm.reason), restarts - 1);
        st.publish();
        return;
      }
      st.log->error("executor of {} died ({}); restarting it",
                    to_string(key), caf::to_string(dm.reason));
      if (auto err = st.add(spec))
        st.log->error("cannot restart the executor of {}: {}", to_string(key),
                      caf::to_string(err));
      return;
    }
  });
  return {
    [self](atom::add, handler_spec& spec) -> caf::result<caf::ok_atom> {
      if (auto err = self->state.add(spec))
        return err;
      return caf::ok_atom::value;
    },
    [self](atom::remove, const std::string& path)
      -> caf::result<caf::ok_atom> {
      if (auto err = self->state.remove(path))
        return err;
      return caf::ok_atom::value;
    },
    [self](atom::namespaces, const std::vector<std::string>& names,
           bool declared) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      for (const auto& n : names)
        if (auto err = check_name("namespace", n); !err.empty())
          return make_error(status_code::invalid_argument, err);
      if (declared)
        st.declared.emplace(names.begin(), names.end());
      else
        st.declared.reset();
      st.publish();
      return caf::ok_atom::value;
    },
    [self](atom::namespaces, atom::add, const std::string& name)
      -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (auto err = check_name("namespace", name); !err.empty())
        return make_error(status_code::invalid_argument, err);
      if (!st.declared)
        st.declared = st.served();
      st.declared->insert(name);
      st.publish();
      return caf::ok_atom::value;
    },
    [self](atom::namespaces, atom::remove, const std::string& name)
      -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (!st.declared)
        st.declared = st.served();
      if (st.declared->erase(name) == 0)
        return make_error(status_code::not_found,
                          "namespace '" + name + "' is not served by "
                            + st.cfg.node_id);
      st.publish();
      return caf::ok_atom::value;
    },
    [self](atom::validator,
           registry_validator_ptr& v) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      st.log->info("registry validator: {}", v ? v->describe() : "none");
      st.validator = std::move(v);
      st.publish();
      return caf::ok_atom::value;
    },
    [self](atom::subscribe, const caf::actor& who) {
      auto& st = self->state;
      st.subscribers.push_back(who);
      self->monitor(who);
      st.keep();
      caf::anon_send(who, atom::update_v, st.table);
    },
    [self](atom::handlers) -> caf::result<nlohmann::json> {
      auto& st = self->state;
      std::vector<caf::actor> execs;
      auto list = nlohmann::json::array();
      for (const auto& [key, h] : st.handlers) {
        list.push_back(st.describe(key, h));
        execs.push_back(h.executor);
      }
      auto rp = self->make_response_promise<nlohmann::json>();
      gather_json(self, execs, caf::make_message(atom::stats_v),
                  std::chrono::seconds{2},
                  [rp, list](std::vector<nlohmann::json> stats) mutable {
                    for (size_t i = 0; i < stats.size(); ++i)
                      list[i]["stats"] = std::move(stats[i]);
                    rp.deliver(std::move(list));
                  });
      return rp;
    },
    [self](atom::stats) -> caf::result<nlohmann::json> {
      auto& st = self->state;
      return json_result({
        {"namespaces", st.table->namespaces},
        {"declared_namespaces", st.declared.has_value()},
        {"handlers", st.handlers.size()},
        {"active_handlers", st.table->active.size()},
        {"validator", st.validator ? st.validator->describe() : "none"}});
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      auto execs = self->state.executors();
      if (execs.empty())
        return caf::ok_atom::value;
      // Only now: a promise claims the request, a returned value would not.
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto remaining = std::make_shared<size_t>(execs.size());
      for (const auto& e : execs) {
        // An executor that cannot drain in time is not waited for forever:
        // the node's shutdown bound applies.
        self->request(e, caf::infinite, atom::drain_v)
          .then(
            [rp, remaining](caf::ok_atom) mutable {
              if (--*remaining == 0)
                rp.deliver(caf::ok_atom::value);
            },
            [rp, remaining](caf::error&) mutable {
              if (--*remaining == 0)
                rp.deliver(caf::ok_atom::value);
            });
      }
      return rp;
    },
  };
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg) {
  return sys.spawn(registry_behavior, std::move(cfg));
}

} // namespace mesh
