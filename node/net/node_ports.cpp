#include "node/net/node_ports.hpp"

#include <cstdlib>
#include <mutex>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/cluster/ingress/gate.hpp"
#include "actors/console/console.hpp"
#include "grpc/front_door.hpp"
#include "node/net/transport/tls_transport.hpp"
#include "protocol/status.hpp"

namespace mesh {

caf::expected<uint16_t> node_ports::publish_gate(node::impl& st, uint16_t port) {
  // SO_REUSEADDR: a node restarted on its port must not wait for the
  // TIME_WAIT of its old connections; a live listener still makes it fail.
  auto gate = st.gate.get();
  const auto* host = st.cfg.listen.host.c_str();
  if (st.tls_transport)
    return publish_tls(*st.sys, st.tls_transport,
                       caf::actor_cast<caf::actor>(gate), port, host, true);
  return st.sys->middleman().publish(gate, port, host, true);
}

caf::expected<uint16_t> node_ports::publish_console(node::impl& st, uint16_t port) {
  // Published untyped: meshctl's remote_actor takes any console, and the
  // console checks the token before anything else.
  return st.sys->middleman().publish(
    caf::actor_cast<caf::actor>(st.console_actor.get()), port,
    st.cfg.console.host.c_str(), true);
}

supervised_child node_ports::gate_child(node::impl& st) {
  supervised_child c;
  c.name = "gate";
  c.current = [&st] { return caf::actor_cast<caf::actor>(st.gate.get()); };
  c.restart = [&st]() -> caf::actor {
    // The BASP broker holds the published actors of both transports (CAF
    // 0.17.6's own openssl::unpublish does not compile).
    st.sys->middleman().unpublish(st.gate.get(), st.listen.port);
    st.gate.set(spawn_gate(*st.sys, st.id, st.cluster));
    if (auto port = publish_gate(st, st.listen.port); !port) {
      st.log->error("cannot listen on {} again: {}", to_string(st.listen),
                    error_text(port.error()));
      return {};
    }
    return caf::actor_cast<caf::actor>(st.gate.get());
  };
  return c;
}

supervised_child node_ports::console_child(node::impl& st) {
  supervised_child c;
  c.name = "console";
  c.current = [&st] {
    return caf::actor_cast<caf::actor>(st.console_actor.get());
  };
  c.restart = [&st]() -> caf::actor {
    st.sys->middleman().unpublish(
      caf::actor_cast<caf::actor>(st.console_actor.get()), st.console.port);
    st.console_actor.set(spawn_console(*st.sys, st.console_cfg));
    if (auto port = publish_console(st, st.console.port); !port) {
      st.log->error("cannot listen for the console on {} again: {}",
                    to_string(st.console), error_text(port.error()));
      return {};
    }
    return caf::actor_cast<caf::actor>(st.console_actor.get());
  };
  return c;
}

console_config node_ports::console_config_of(node::impl& st,
                                              actor_slot<supervisor_actor> supervisor) {
  console_config cc;
  cc.node_id = st.id;
  cc.listen = to_string(st.listen);
  cc.started = std::chrono::system_clock::now();
  cc.router = st.router;
  cc.registry = st.registry;
  cc.cluster = st.cluster;
  cc.strategies = st.strategies;
  cc.topics = st.topics;
  cc.tasks = st.tasks;
  cc.workflows = st.workflows;
  cc.token = st.cfg.console_token;
  cc.supervisor = std::move(supervisor);
  if (const char* env = std::getenv("MESH_TEST_INJECT_FAILURES"))
    cc.allow_fault_injection = std::string{env} == "1";
  if (st.grpc_counts)
    cc.grpc_calls = [counts = st.grpc_counts] { return counts->to_json(); };
  if (st.http_counts)
    cc.http_requests = [counts = st.http_counts] { return counts->to_json(); };
  if (st.data) {
    cc.fail_data_links = [data = st.data] { return data->fail_outbound(); };
    cc.refuse_data_token = [data = st.data] { data->refuse_tokens(1); };
  }
  cc.request_leave = [cb = st.leave_cb, cluster = st.cluster,
                      sys = st.sys.get()] {
    // meshnode turns this into its shutdown; an embedding program that
    // set no callback just leaves the cluster and keeps running.
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> guard{cb->mtx};
      fn = cb->fn;
    }
    if (fn) {
      fn();
    } else {
      // The connection manager takes commands from this node's actors
      // only, never anonymous ones.
      caf::scoped_actor me{*sys};
      me->send(cluster.get(), atom::leave_v);
    }
  };
  return cc;
}

caf::error node_ports::start_grpc(node::impl& st) {
  grpc_front_door_config gc;
  gc.address = *st.cfg.grpc;
  gc.max_payload_bytes = st.cfg.limits.max_payload_bytes;
  gc.tls = st.cfg.cluster.tls;
  gc.keepalive = st.cfg.grpc_keepalive;
  gc.memory_bytes = size_t{st.cfg.grpc_memory_mb} << 20;
  gc.node = {st.sys.get(), st.id, to_string(st.listen), st.cfg.console_token,
             std::chrono::milliseconds{st.cfg.limits.max_deadline_ms},
             st.cfg.cluster.tls, st.router, st.cluster, st.strategies,
             st.topics, st.tasks, st.workflows, st.grpc_counts};
  st.grpc = st.grpc_entry->make_door(std::move(gc));
  return st.grpc->start();
}

} // namespace mesh
