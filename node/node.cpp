#include "node/node.hpp"

#include "node/node_impl.hpp"

#include <mutex>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/node_actors.hpp"
#include "actors/console/console.hpp"
#include "actors/cluster/data/data_plane_glue.hpp"
#include "cluster/security/handshake.hpp"
#include "cluster/security/tls_files.hpp"
#include "node/net/caf_settings.hpp"
#include "node/net/transport/guarded_transport.hpp"
#include "node/check/config_check.hpp"
#include "node/net/node_ports.hpp"
#include "node/os/grpc_door_loader.hpp"
#include "node/net/transport/tls_transport.hpp"
#include "node/plugins/plugin_loader.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/register.hpp"
#include "protocol/messaging/type_ids.hpp"
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
  log::set_node(st->id); // the "node" of every JSON log line
  // Before anything runs: an install without the door's library stops
  // here, and its static constructors run while no actor does.
  if (cfg.grpc) {
    auto door = open_grpc_door();
    if (!door)
      return std::move(door.error());
    st->grpc_entry = *door;
  }
  st->sys_cfg = make_caf_config(cfg);
  st->sys = std::make_unique<caf::actor_system>(*st->sys_cfg);
  if (auto* mx = dynamic_cast<guarded_multiplexer*>(
        &st->sys->middleman().backend()))
    st->sweep = std::make_unique<silence_sweep>(
      mx->silent(), std::chrono::seconds{2}, std::chrono::seconds{10});
  auto& sys = *st->sys;
  set_max_json_depth(cfg.limits.max_json_depth);
  // The same checks as meshnode's, for programs that embed a node.
  if (auto why = check_console_exposure(cfg); !why.empty())
    return make_error(status_code::invalid_argument, why);
  const auto& tls = cfg.cluster.tls;
  if (auto why = check_tls_files(tls.certificate, tls.key, tls.ca,
                                 tls.passphrase);
      !why.empty())
    return make_error(status_code::invalid_argument, "TLS: " + why);
  if (auto why = unreadable_folder(cfg.manifests_dir, "manifests"); !why.empty())
    return make_error(status_code::invalid_argument, why);
  if (auto err = check_task_store(cfg, st->id))
    return err;
  if (auto err = check_workflow_store(cfg, st->id))
    return err;
  node_actors_options opts;
  opts.node_id = st->id;
  opts.incarnation = st->incarnation;
  opts.task_functions = st->task_functions;
  if (auto err = setup_pipeline(*st->pipeline, cfg))
    return err;
  opts.pipeline = st->pipeline;
  opts.data = make_data_plane(cfg);
  if (cfg.cluster.tls.enabled()) {
    st->tls_transport = spawn_tls_transport(sys);
    if (!st->tls_transport)
      return make_error(status_code::internal,
                        "TLS needs the node's own multiplexer");
    opts.transport = st->tls_transport;
  }
  auto actors = spawn_node_actors(sys, cfg, opts);
  st->data = opts.data;
  st->registry = actors.registry;
  st->router = actors.router;
  st->strategies = actors.strategies;
  st->topics = actors.topics;
  st->tasks = actors.tasks;
  st->workflows = actors.workflows;
  st->cluster = actors.cluster;
  st->gate.set(actors.gate);
  auto children = std::move(actors.children);
  st->cfg = std::move(cfg);
  std::unique_ptr<node> result{new node(std::move(st))};
  auto& self = *result->impl_;
  // Before the gate opens: handshakes offer its port. A failure from here
  // on ends the actors through the node's shutdown.
  if (self.data)
    if (auto why = start_data_plane(*self.data, self.router); !why.empty())
      return make_error(status_code::unavailable, why);
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
  if (auto err = check_policy_hooks(*self.pipeline))
    return err;
  if (auto err = result->add_configured_topics())
    return err;
  // Jobs are checked once the plug-ins have registered their functions;
  // a store that cannot be opened stops the start here.
  if (auto err = result->start_tasks())
    return err;
  // Runs resume as soon as the runner starts: after the plug-ins, so that
  // their handlers take the steps.
  if (actors.start_workflows)
    actors.start_workflows();
  // Peers reach the gate and nothing else; what they may use next comes in
  // the answer to a successful handshake.
  auto listen_port = node_ports::publish_gate(self, self.cfg.listen.port);
  if (!listen_port)
    return make_error(status_code::unavailable,
                      "cannot listen on " + to_string(self.cfg.listen) + ": "
                        + error_text(listen_port.error()));
  self.listen = {self.cfg.listen.host, *listen_port};
  {
    // Local commands must come from a local sender (actors/console/).
    caf::scoped_actor me{sys};
    me->send(self.cluster.get(), atom::update_v, to_string(self.listen));
  }
  actor_slot<supervisor_actor> supervisor_slot{supervisor_actor{}};
  // Counted from the first request, shown by the console.
  if (self.grpc_entry != nullptr)
    self.grpc_counts = self.grpc_entry->make_call_counts();
  if (self.cfg.http)
    self.http_counts = std::make_shared<http_counter>(console_command_names());
  auto cc = node_ports::console_config_of(self, supervisor_slot);
  // A console on port 0 learns its real address right after publishing.
  cc.console = to_string(self.cfg.console);
  self.console_actor.set(spawn_console(sys, cc));
  auto console_port = node_ports::publish_console(self, self.cfg.console.port);
  if (!console_port)
    return make_error(status_code::unavailable,
                      "cannot listen for the console on "
                        + to_string(self.cfg.console) + ": "
                        + error_text(console_port.error()));
  self.console = {self.cfg.console.host, *console_port};
  {
    caf::scoped_actor me{sys};
    me->send(self.console_actor.get(), atom::update_v, to_string(self.console),
             std::string{});
  }
  // A restarted console knows its address from the start.
  cc.console = to_string(self.console);
  self.console_cfg = cc;
  supervisor_config sc;
  sc.node_id = self.id;
  sc.children = std::move(children);
  for (auto& c : sc.children)
    if (c.name == "gate")
      c = node_ports::gate_child(self);
  sc.children.push_back(node_ports::console_child(self));
  sc.max_restarts = self.cfg.limits.max_restarts;
  sc.window = std::chrono::milliseconds{self.cfg.limits.restart_window_ms};
  sc.on_failure = [impl = &self, leave = cc.request_leave](const std::string& what) {
    {
      std::lock_guard<std::mutex> guard{impl->mtx};
      impl->failure = what;
    }
    leave();
  };
  self.supervisor = spawn_node_supervisor(sys, std::move(sc));
  supervisor_slot.set(self.supervisor);
  if (self.cfg.http) { // last: what it forwards finds the console up
    auto hc = http_config_of(self.cfg, self.id, self.console_actor);
    hc.counter = self.http_counts;
    self.http = std::make_unique<http_server>(sys, std::move(hc));
    if (auto err = self.http->start())
      return err;
    auto http = to_string(self.http->address());
    self.console_cfg.http = http; // a restarted console knows it too
    caf::scoped_actor me{sys};
    me->send(self.console_actor.get(), atom::update_v, to_string(self.console),
             http);
  }
  if (self.grpc_entry != nullptr) // as http: it calls actors that are up
    if (auto err = node_ports::start_grpc(self))
      return err;
  self.log->info("node {} listening on {}, console on {}", self.id,
                 to_string(self.listen), to_string(self.console));
  return result;
}

std::string node::failure() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->failure;
}

bool node::handlers_left_running() const {
  return impl_->handlers_left_running;
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

std::string node::data_plane_address() const {
  return mesh::data_plane_address(impl_->data.get(), impl_->listen);
}

std::string node::http_address() const {
  return impl_->http ? to_string(impl_->http->address()) : std::string{};
}

std::string node::grpc_address() const {
  return impl_->grpc ? to_string(impl_->grpc->address()) : std::string{};
}

const node_config& node::config() const {
  return impl_->cfg;
}

caf::actor_system& node::system() {
  return *impl_->sys;
}

caf::actor node::router() const {
  return caf::actor_cast<caf::actor>(impl_->router.get());
}

registry_actor node::registry() const {
  return impl_->registry.get();
}

cluster_actor node::cluster() const {
  return impl_->cluster.get();
}

caf::actor node::strategies() const {
  return caf::actor_cast<caf::actor>(impl_->strategies.get());
}

caf::actor node::topics() const {
  return caf::actor_cast<caf::actor>(impl_->topics.get());
}

caf::actor node::console() const {
  return caf::actor_cast<caf::actor>(impl_->console_actor.get());
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
  // Load balancers stop sending us work first (/readyz, gRPC's health).
  if (st.http)
    st.http->set_draining();
  if (st.grpc)
    st.grpc->set_draining();
  {
    caf::scoped_actor self{*st.sys};
    if (st.supervisor) // from now on, actors end on purpose
      self->request(st.supervisor, std::chrono::seconds{1}, atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    auto deadline = std::chrono::steady_clock::now() + grace;
    auto left = [&] {
      auto d = deadline - std::chrono::steady_clock::now();
      return std::max(std::chrono::duration_cast<caf::timespan>(d),
                      caf::timespan{1});
    };
    // 1. tell peers first, so nobody waits for a time-out; 2. refuse new
    // requests; 3. let in-flight ones finish, within grace.
    if (auto cm = st.cluster.get())
      self->request(cm, left(), atom::leave_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    // No new workflow steps; runs under way resume at the next start.
    if (auto a = st.workflows.get())
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    if (auto a = st.topics.get()) // publishes first: their forward dispatchers use the router
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    if (auto a = st.router.get())
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    if (auto a = st.registry.get())
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {},
                 [&](caf::error& err) {
                   st.handlers_left_running = true;
                   st.log->warn("shutdown: handlers still busy after {} ms: {}",
                                grace.count(), error_text(err));
                 });
    // Commit what the task store has pending; no new deliveries.
    if (auto a = st.tasks.get())
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    // Keep what the bandit learned (its file survives a restart).
    if (auto a = st.strategies.get())
      self->request(a, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    // 4. no new meshctl connections; answer the commands already received
    //    (the router now answers at once, so this is quick).
    if (auto console = st.console_actor.get()) {
      st.sys->middleman().unpublish(caf::actor_cast<caf::actor>(console),
                                    st.console.port);
      self->request(console, left(), atom::drain_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    }
    for (auto& a : st.actors())
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    if (st.supervisor)
      self->send_exit(st.supervisor, caf::exit_reason::user_shutdown);
    // The console has answered (or, past the grace, is gone: a request still
    // waiting on it fails at once), so the HTTP threads end now, and no
    // scoped actor of theirs outlives the actor system.
    if (st.http)
      st.http->stop();
    if (st.grpc) // its calls are answered by now: their actors are gone
      st.grpc->stop();
  }
  st.registry.set(registry_actor{});
  st.router.set(router_actor{});
  st.cluster.set(cluster_actor{});
  st.strategies.set(strategies_actor{});
  st.topics.set(topics_actor{});
  st.tasks.set(tasks_actor{});
  st.workflows.set(workflows_actor{});
  st.console_actor.set(mesh::console_actor{});
  st.supervisor = supervisor_actor{};
  st.gate.set(gate_actor{});
  // Every actor of ours answers its last requests while it ends...
  st.sys->await_all_actors_done();
  if (st.data) // answers on data links went out from the actors' threads
    st.data->stop();
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
  stop_tls_transport(*st.sys, st.tls_transport);
  st.sys.reset();
  st.log->info("node {} stopped", st.id);
}

} // namespace mesh
