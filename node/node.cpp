#include "node/node.hpp"

#include "node/node_impl.hpp"

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
#include "actors/topic_dispatcher.hpp"
#include "actors/topic_handler.hpp"
#include "cluster/handshake.hpp"
#include "node/caf_settings.hpp"
#include "node/plugin_loader.hpp"
#include "protocol/local_types.hpp"
#include "protocol/register.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

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
  topic_dispatcher_config td;
  td.node_id = st->id;
  td.router = st->router;
  td.dispatcher_timeout
    = std::chrono::milliseconds{cfg.topics.dispatcher_timeout_ms};
  td.max_output_depth = cfg.topics.max_output_depth;
  td.threads = cfg.topics.threads;
  cm.topics = spawn_topic_dispatcher(sys, td);
  st->topics = cm.topics;
  st->cluster = spawn_connection_manager(sys, cm);
  caf::anon_send(st->cluster, atom::subscribe_v, st->strategies);
  caf::anon_send(st->cluster, atom::subscribe_v, st->topics);
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
  if (auto err = result->add_configured_topics())
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
  cc.topics = self.topics;
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

caf::actor node::topics() const {
  return impl_->topics;
}

caf::actor node::console() const {
  return impl_->console_actor;
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
    if (st.topics) // publishes first: their forward dispatchers use the router
      self->request(st.topics, left(), atom::drain_v)
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
  st.topics = nullptr;
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
