#include "net_fixture.hpp"

#include <caf/send.hpp>

namespace mesh::test {

namespace {

constexpr auto heartbeat = std::chrono::milliseconds{100};
constexpr uint32_t misses = 4;

bool advance(planet& p) {
  return p.sched.try_run_once() || p.mpx.try_exec_runnable()
         || p.mpx.read_data() || p.mpx.try_accept_connection();
}

// Asks `dest` and keeps whatever comes back, without blocking the test.
template <class Handle, class... Ts>
std::shared_ptr<std::optional<caf::expected<nlohmann::json>>>
ask_json(planet& p, const Handle& dest, Ts... xs) {
  auto slot = std::make_shared<std::optional<caf::expected<nlohmann::json>>>();
  p.sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, caf::infinite, xs...)
      .then([slot](nlohmann::json& x) { *slot = std::move(x); },
            [slot](caf::error& err) { *slot = std::move(err); });
  });
  return slot;
}

} // namespace

net_fixture::net_fixture() {
  init_test_logging();
  exhaust();
}

net_fixture::~net_fixture() {
  for (auto* p : planets) {
    p->frozen = false;
    for (auto& a : p->actors.all())
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  exhaust();
}

void net_fixture::start(planet& p, std::vector<std::string> namespaces,
                        const std::string& secret) {
  node_config cfg;
  cfg.namespaces = std::move(namespaces);
  cfg.data_dir.clear();
  cfg.topics.threads = 1;
  cfg.cluster.secret = secret;
  cfg.cluster.heartbeat_interval_ms = heartbeat.count();
  cfg.cluster.heartbeat_misses = misses;
  cfg.cluster.monitors = monitors;
  cfg.cluster.redial_initial_ms = 100;
  cfg.cluster.redial_max_ms = 400;
  node_actors_options opts;
  opts.node_id = p.id;
  opts.incarnation = p.id + "-incarnation";
  p.actors = spawn_node_actors(p.sys, cfg, opts);
  p.registry = p.actors.registry.get();
  p.router = caf::actor_cast<caf::actor>(p.actors.router.get());
  p.cm = p.actors.cluster.get();
  p.gate = p.actors.gate;
  p.mpx.provide_acceptor(planet::port, p.acceptor);
  p.publish(p.gate, planet::port);
  p.self->send(p.cm, atom::update_v, p.address());
  exhaust();
}

void net_fixture::add_handler(planet& p, const std::string& ns,
                              const std::string& svc, const std::string& method,
                              bool idempotent) {
  handler_options opts;
  opts.idempotent = idempotent;
  auto spec = make_actor_handler({ns, svc, method},
                                 p.sys.spawn(node_echo, p.id), opts);
  caf::anon_send(p.registry, atom::add_v, std::move(spec));
  exhaust();
}

void net_fixture::prepare_link(planet& client, planet& server) {
  auto server_hdl = caf::io::connection_handle::from_int(++next_handle_);
  auto client_hdl = caf::io::connection_handle::from_int(++next_handle_);
  server.mpx.prepare_connection(server.acceptor, server_hdl, client.mpx,
                                server.id, planet::port, client_hdl);
}

void net_fixture::exhaust() {
  auto step = [](planet* p) { return !p->frozen && advance(*p); };
  while (std::any_of(planets.begin(), planets.end(), step))
    ; // until no planet has anything left to do
}

void net_fixture::run_for(caf::timespan t) {
  for (;;) {
    exhaust();
    std::optional<caf::actor_clock::time_point> next;
    for (auto* p : planets) {
      if (p->frozen || !p->sched.clock().has_pending_timeout())
        continue;
      auto when = p->sched.clock().schedule().begin()->first;
      next = next ? std::min(*next, when) : when;
    }
    auto now = earth.sched.clock().now();
    auto step = next ? std::min(t, std::max(caf::timespan{0}, *next - now))
                     : t;
    // A frozen node's clock runs on (as a stopped process's does): its
    // timers come due and wait in its mailboxes until it thaws. A clock
    // left behind would never reach the others' next timeout.
    for (auto* p : planets)
      p->sched.advance_time(step);
    t -= step;
    if (t <= caf::timespan{0}) {
      exhaust();
      return;
    }
  }
}

caf::expected<nlohmann::json> net_fixture::connect(planet& from, planet& to) {
  auto slot = ask_json(from, from.cm, atom::connect_v, to.address());
  exhaust();
  if (!*slot)
    CAF_FAIL("connect from " << from.id << " to " << to.id
                             << " got no answer");
  return **slot;
}

nlohmann::json net_fixture::peers(planet& from) {
  auto slot = ask_json(from, from.cm, atom::peers_v,
                       nlohmann::json::object());
  exhaust();
  if (!*slot || !**slot)
    CAF_FAIL("no peer list from " << from.id);
  auto result = nlohmann::json::object();
  for (auto& p : ***slot)
    result[p["id"].get<std::string>()] = p;
  return result;
}

std::shared_ptr<reply_log> net_fixture::dispatch(planet& p,
                                                 pb::DispatchRequest req) {
  auto log = std::make_shared<reply_log>();
  auto client = p.sys.spawn(request_client, p.router, log);
  caf::anon_send(client, std::move(req));
  exhaust();
  return log;
}

std::string net_fixture::handler_node(const pb::DispatchResponse& r) {
  pb::ServiceRef ref;
  if (!r.payload().UnpackTo(&ref))
    return {};
  return ref.namespace_();
}

} // namespace mesh::test
