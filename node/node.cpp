#include "node/node.hpp"

#include <mutex>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/console.hpp"
#include "actors/registry.hpp"
#include "actors/request_router.hpp"
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
  caf::actor registry;
  caf::actor router;
  caf::actor console_actor;
  std::mutex mtx;
  bool stopped = false;
  std::shared_ptr<std::function<void()>> leave_cb
    = std::make_shared<std::function<void()>>();
  std::shared_ptr<spdlog::logger> log = log::get("node");

  std::vector<caf::actor> actors() const {
    return {console_actor, router, registry};
  }
};

namespace {

std::unique_ptr<caf::actor_system_config> make_caf_config(const node_config& cfg) {
  auto c = std::make_unique<caf::actor_system_config>();
  register_types(*c);
  c->load<caf::io::middleman>();
  c->set("scheduler.policy", caf::atom_from_string(cfg.scheduler.policy));
  c->set("scheduler.max-threads", cfg.scheduler.max_threads);
  c->set("scheduler.max-throughput", cfg.scheduler.max_throughput);
  c->set("middleman.workers", cfg.scheduler.middleman_workers);
  return c;
}

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
  ro.registry = st->registry;
  st->router = spawn_request_router(sys, ro);
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
  auto listen_port = mm.publish(self.router, self.cfg.listen.port,
                                self.cfg.listen.host.c_str());
  if (!listen_port)
    return make_error(status_code::unavailable,
                      "cannot listen on " + to_string(self.cfg.listen) + ": "
                        + sys.render(listen_port.error()));
  self.listen = {self.cfg.listen.host, *listen_port};
  console_config cc;
  cc.node_id = self.id;
  cc.listen = to_string(self.listen);
  cc.started = std::chrono::system_clock::now();
  cc.router = self.router;
  cc.registry = self.registry;
  // A console on port 0 learns its real address right after publishing.
  cc.console = to_string(self.cfg.console);
  self.console_actor = spawn_console(sys, cc);
  auto console_port = mm.publish(self.console_actor, self.cfg.console.port,
                                 self.cfg.console.host.c_str());
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

caf::actor node::console() const {
  return impl_->console_actor;
}

caf::error node::add_handler(handler_spec spec) {
  caf::scoped_actor self{*impl_->sys};
  caf::error result;
  self->request(impl_->registry, caf::infinite, atom::add_v, std::move(spec))
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  return result;
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
  caf::scoped_actor self{*impl_->sys};
  caf::error result;
  self->request(impl_->registry, caf::infinite, atom::remove_v, path)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  return result;
}

caf::error node::set_validator(std::shared_ptr<const registry_validator> v) {
  caf::scoped_actor self{*impl_->sys};
  caf::error result;
  self->request(impl_->registry, caf::infinite, atom::validator_v, v)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
  return result;
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

void node::on_leave_request(std::function<void()> f) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  *impl_->leave_cb = std::move(f);
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
    // 1. refuse new requests; 2. let in-flight ones finish, within grace.
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
    for (auto& a : st.actors())
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  st.registry = nullptr;
  st.router = nullptr;
  st.console_actor = nullptr;
  // Waits for every actor; the middleman closes the listeners.
  st.sys.reset();
  st.log->info("node {} stopped", st.id);
}

} // namespace mesh
