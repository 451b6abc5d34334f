#include "node/node.hpp"

#include <mutex>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/connection_manager.hpp"
#include "actors/console.hpp"
#include "actors/registry.hpp"
#include "actors/request_router.hpp"
#include "actors/strategy_evaluator.hpp"
#include "cluster/handshake.hpp"
#include "node/caf_settings.hpp"
#include "node/plugin_loader.hpp"
#include "protocol/local_types.hpp"
#include "protocol/register.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

struct node::impl {
  node_config cfg;
  std::string id;
  host_port listen;
  host_port console;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::string incarnation = random_hex_token();
  caf::actor registry;
  caf::actor router;
  caf::actor cluster;
  caf::actor strategies;
  caf::actor console_actor;
  std::mutex mtx;
  bool stopped = false;
  struct leave_callback {
    std::mutex mtx;
    std::function<void()> fn;
  };
  std::shared_ptr<leave_callback> leave_cb = std::make_shared<leave_callback>();
  std::shared_ptr<spdlog::logger> log = log::get("node");

  std::vector<caf::actor> actors() const {
    return {console_actor, strategies, cluster, router, registry};
  }
};

namespace {

std::string default_id(const node_config& cfg) {
  if (!cfg.id.empty() || cfg.listen.port != 0)
    return effective_node_id(cfg, cfg.listen.port);
  // Port 0: the id cannot wait for the port, the actors need it first.
  auto id = effective_node_id(cfg, 0);
  return id.substr(0, id.rfind('-')) + "-p" + std::to_string(::getpid());
}

} // namespace

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

node::~node() {
  shutdown();
}

caf::expected<std::unique_ptr<node>> node::start(node_config cfg) {
  auto st = std::make_unique<impl>();
  st->id = default_id(cfg);
  st->sys_cfg = make_caf_config(cfg);
  st->sys = std::make_unique<caf::actor_system>(*st->sys_cfg);
  auto& sys = *st->sys;
  const auto& lim = cfg.limits;
  registry_config rc;
  rc.node_id = st->id;
  rc.namespaces = cfg.namespaces;
  rc.max_concurrency = lim.max_concurrency;
  rc.max_queue = lim.max_queue;
  rc.default_deadline = std::chrono::milliseconds{lim.default_deadline_ms};
  rc.max_deadline = std::chrono::milliseconds{lim.max_deadline_ms};
  st->registry = spawn_registry(sys, rc);
  router_config ro;
  ro.node_id = st->id;
  ro.max_payload_bytes = lim.max_payload_bytes;
  ro.max_hops = lim.max_hops;
  ro.default_deadline = std::chrono::milliseconds{lim.default_deadline_ms};
  ro.max_deadline = std::chrono::milliseconds{lim.max_deadline_ms};
  ro.load_balancing = cfg.cluster.load_balancing;
  ro.registry = st->registry;
  st->router = spawn_request_router(sys, ro);
  connection_manager_config cm;
  cm.node_id = st->id;
  cm.incarnation = st->incarnation;
  cm.secret = cfg.cluster.secret;
  cm.seeds = cfg.cluster.seeds;
  cm.timing.heartbeat_interval
    = std::chrono::milliseconds{cfg.cluster.heartbeat_interval_ms};
  cm.timing.heartbeat_misses = cfg.cluster.heartbeat_misses;
  cm.timing.redial_initial
    = std::chrono::milliseconds{cfg.cluster.redial_initial_ms};
  cm.timing.redial_max = std::chrono::milliseconds{cfg.cluster.redial_max_ms};
  cm.connect_timeout
    = std::chrono::milliseconds{cfg.cluster.connect_timeout_ms};
  cm.registry = st->registry;
  cm.router = st->router;
  // Peers learn the evaluator's handle from the manager (evidence goes
  // there); the evaluator follows the manager's peer tables.
  strategy_evaluator_config se;
  se.node_id = st->id;
  se.manifests_dir = cfg.manifests_dir;
  se.data_dir = cfg.data_dir;
  se.router = st->router;
  se.deadline = std::chrono::milliseconds{lim.default_deadline_ms};
  cm.strategies = spawn_strategy_evaluator(sys, se);
  st->strategies = cm.strategies;
  st->cluster = spawn_connection_manager(sys, cm);
  caf::anon_send(st->cluster, atom::subscribe_v, st->strategies);
  st->cfg = std::move(cfg);
  std::unique_ptr<node> result{new node(std::move(st))};
  auto& self = *result->impl_;
  if (self.cfg.allow_list) {
    std::string error;
    auto v = allow_list_validator::make(*self.cfg.allow_list, error);
    if (!v)
      return make_error(status_code::invalid_argument, error);
    if (auto err = result->set_validator(v))
      return err;
  }
  for (const auto& p : self.cfg.plugins)
    if (auto err = load_plugin(p, *result))
      return err;
  auto& mm = sys.middleman();
  // Peers reach the connection manager; everything else they learn from it.
  // SO_REUSEADDR: a node restarted on its port must not wait for the
  // TIME_WAIT of its old connections; a live listener still makes it fail.
  auto listen_port = mm.publish(self.cluster, self.cfg.listen.port,
                                self.cfg.listen.host.c_str(), true);
  if (!listen_port)
    return make_error(status_code::unavailable,
                      "cannot listen on " + to_string(self.cfg.listen) + ": "
                        + sys.render(listen_port.error()));
  self.listen = {self.cfg.listen.host, *listen_port};
  caf::anon_send(self.cluster, atom::update_v, to_string(self.listen));
  console_config cc;
  cc.node_id = self.id;
  cc.listen = to_string(self.listen);
  cc.started = std::chrono::system_clock::now();
  cc.router = self.router;
  cc.registry = self.registry;
  cc.cluster = self.cluster;
  cc.strategies = self.strategies;
  cc.request_leave = [cb = self.leave_cb, cluster = self.cluster] {
    // meshnode turns this into its shutdown; an embedding program that
    // set no callback just leaves the cluster and keeps running.
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> guard{cb->mtx};
      fn = cb->fn;
    }
    if (fn)
      fn();
    else
      caf::anon_send(cluster, atom::leave_v);
  };
  // A console on port 0 learns its real address right after publishing.
  cc.console = to_string(self.cfg.console);
  self.console_actor = spawn_console(sys, cc);
  auto console_port = mm.publish(self.console_actor, self.cfg.console.port,
                                 self.cfg.console.host.c_str(), true);
  if (!console_port)
    return make_error(status_code::unavailable,
                      "cannot listen for the console on "
                        + to_string(self.cfg.console) + ": "
                        + sys.render(console_port.error()));
  self.console = {self.cfg.console.host, *console_port};
  caf::anon_send(self.console_actor, atom::update_v, to_string(self.console));
  self.log->info("node {} listening on {}, console on {}", self.id,
                 to_string(self.listen), to_string(self.console));
  return result;
}

const std::string& node::id() const {
  return impl_->id;
}

const host_port& node::listen_address() const {
  return impl_->listen;
}

const host_port& node::console_address() const {
  return impl_->console;
}

const node_config& node::config() const {
  return impl_->cfg;
}

caf::actor_system& node::system() {
  return *impl_->sys;
}

caf::actor node::router() const {
  return impl_->router;
}

caf::actor node::registry() const {
  return impl_->registry;
}

caf::actor node::cluster() const {
  return impl_->cluster;
}

caf::actor node::strategies() const {
  return impl_->strategies;
}

caf::actor node::console() const {
  return impl_->console_actor;
}

namespace {

// Asks `dest` and waits for its ok_atom; its error otherwise.
template <class... Ts>
caf::error ask_ok(caf::actor_system& sys, const caf::actor& dest,
                  Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::error result;
  self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  return result;
}

} // namespace

caf::error node::add_handler(handler_spec spec) {
  return ask_ok(*impl_->sys, impl_->registry, atom::add_v, std::move(spec));
}

namespace {

void throw_if(caf::error err) {
  if (!err)
    return;
  throw std::invalid_argument(error_text(err));
}

} // namespace

void node::add(service_key key, any_handler fn, handler_options opts) {
  throw_if(add_handler(make_function_handler(std::move(key), std::move(fn),
                                             std::move(opts))));
}

void node::add_json(service_key key, json_handler fn, handler_options opts) {
  throw_if(add_handler(make_json_handler(std::move(key), std::move(fn),
                                         std::move(opts))));
}

void node::add_actor(service_key key, caf::actor handler,
                     handler_options opts) {
  throw_if(add_handler(make_actor_handler(std::move(key), std::move(handler),
                                          std::move(opts))));
}

caf::error node::remove_handler(const std::string& path) {
  return ask_ok(*impl_->sys, impl_->registry, atom::remove_v, path);
}

caf::error node::set_validator(std::shared_ptr<const registry_validator> v) {
  return ask_ok(*impl_->sys, impl_->registry, atom::validator_v, std::move(v));
}

pb::DispatchResponse node::dispatch(pb::DispatchRequest req) {
  caf::scoped_actor self{*impl_->sys};
  pb::DispatchResponse result;
  self->request(impl_->router, caf::infinite, std::move(req))
    .receive([&](pb::DispatchResponse& r) { result = std::move(r); },
             [&](caf::error& err) {
               result.mutable_status()->set_code(
                 static_cast<pb::StatusCode>(to_status_code(err)));
               result.mutable_status()->set_message(impl_->sys->render(err));
             });
  return result;
}

pb::ProcessResponse node::process(pb::ProcessRequest req) {
  caf::scoped_actor self{*impl_->sys};
  pb::ProcessResponse result;
  self->request(impl_->strategies, caf::infinite, std::move(req))
    .receive([&](pb::ProcessResponse& r) { result = std::move(r); },
             [&](caf::error& err) {
               result.mutable_status()->set_code(
                 static_cast<pb::StatusCode>(to_status_code(err)));
               result.mutable_status()->set_message(error_text(err));
             });
  return result;
}

caf::error node::report_outcome(const std::string& process,
                                const std::string& variant_id, bool success) {
  pb::OutcomeReport report;
  report.set_process_name(process);
  report.set_variant_id(variant_id);
  report.set_success(success);
  return ask_ok(*impl_->sys, impl_->strategies, atom::outcome_v,
                std::move(report));
}

caf::expected<nlohmann::json> node::reload_manifests() {
  caf::scoped_actor self{*impl_->sys};
  caf::expected<nlohmann::json> result{nlohmann::json{}};
  self->request(impl_->strategies, caf::infinite, atom::reload_v)
    .receive([&](nlohmann::json& report) { result = std::move(report); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

void node::on_leave_request(std::function<void()> f) {
  std::lock_guard<std::mutex> guard{impl_->leave_cb->mtx};
  impl_->leave_cb->fn = std::move(f);
}

void node::shutdown() {
  shutdown(std::chrono::milliseconds{impl_->cfg.limits.shutdown_grace_ms});
}

void node::shutdown(std::chrono::milliseconds grace) {
  auto& st = *impl_;
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    if (st.stopped || !st.sys)
      return;
    st.stopped = true;
  }
  st.log->info("node {} shutting down", st.id);
  {
    caf::scoped_actor self{*st.sys};
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto left = [&] {
      auto d = deadline - std::chrono::steady_clock::now();
      return std::max(std::chrono::duration_cast<caf::timespan>(d),
                      caf::timespan{1});
    };
    // 1. tell peers first, so nobody waits for a time-out; 2. refuse new
    // requests; 3. let in-flight ones finish, within grace.
    if (st.cluster)
      self->request(st.cluster, left(), atom::leave_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    if (st.router)
      self->request(st.router, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    if (st.registry)
      self->request(st.registry, left(), atom::drain_v)
        .receive([](caf::ok_atom) {},
                 [&](caf::error& err) {
                   st.log->warn("shutdown: handlers still busy after {} ms: {}",
                                grace.count(), st.sys->render(err));
                 });
    // Keep what the bandit learned (its file survives a restart).
    if (st.strategies)
      self->request(st.strategies, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    // 4. no new meshctl connections; answer the commands already received
    //    (the router now answers at once, so this is quick).
    if (st.console_actor) {
      st.sys->middleman().unpublish(st.console_actor, st.console.port);
      self->request(st.console_actor, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    }
    for (auto& a : st.actors())
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  st.registry = nullptr;
  st.router = nullptr;
  st.cluster = nullptr;
  st.strategies = nullptr;
  st.console_actor = nullptr;
  // Every actor of ours answers its last requests while it ends...
  st.sys->await_all_actors_done();
  // ...and those answers sit in the BASP broker's mailbox: a request that
  // passes through the broker after them is a barrier, so they reach the
  // wire before the middleman stops (it flushes what was written).
  {
    caf::scoped_actor barrier{*st.sys, true};
    barrier
      ->request(st.sys->middleman().actor_handle(), std::chrono::seconds{1},
                caf::get_atom::value, st.sys->node())
      .receive([](const caf::node_id&, const std::string&, uint16_t) {},
               [](const caf::error&) {});
  }
  st.sys.reset();
  st.log->info("node {} stopped", st.id);
}

} // namespace mesh
