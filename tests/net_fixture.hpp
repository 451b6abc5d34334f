#pragma once

// A simulated cluster for deterministic multi-node tests: each "planet" is a
// full actor system on CAF's test multiplexer (no sockets) running one Mesh
// node (registry, router, connection manager). Connections must be prepared
// before a node dials (prepare_link), and time moves in lockstep on every
// planet (run_for), so heartbeats, timeouts and failure detection happen
// exactly when the test says. A planet can be frozen to simulate a node
// that stops answering.

#include <caf/io/middleman.hpp>
#include <caf/test/io_dsl.hpp>

#include "actors/node_actors.hpp"
#include "actors/handlers/handler.hpp"
#include "actors/routing/registry/registry.hpp"
#include "actors/routing/request_router.hpp"
#include "fixtures.hpp"

namespace mesh::test {

struct net_config : caf::actor_system_config {
  net_config() {
    register_types(*this);
    load<caf::io::middleman>();
    // Schedule the middleman's helper actors on the test coordinator, so
    // dialling is as deterministic as everything else.
    set("middleman.attach-utility-actors", true);
  }
};

using planet_base = test_coordinator_fixture<net_config>;

struct planet : test_node_fixture<planet_base> {
  static constexpr uint16_t port = 4000;

  planet(std::string name, int64_t acceptor_id, run_all_nodes_fun f)
    : test_node_fixture<planet_base>(std::move(f)),
      id(std::move(name)),
      acceptor(caf::io::accept_handle::from_int(acceptor_id)) {}

  std::string id;
  caf::io::accept_handle acceptor;
  registry_actor registry;
  caf::actor router;
  cluster_actor cm;
  gate_actor gate;
  node_actors actors;
  bool frozen = false;

  std::string address() const {
    return id + ":" + std::to_string(port);
  }
};

/// A handler actor that answers with the node it runs on.
inline caf::behavior node_echo(caf::event_based_actor*, std::string node) {
  return {
    [node](atom::handle, const pb::ServeRequest& req) {
      google::protobuf::Any out;
      pb::ServiceRef ref;
      ref.set_namespace_(node); // the answer: who handled it
      ref.set_method(req.ref().method());
      out.PackFrom(ref);
      return out;
    },
  };
}

class net_fixture {
public:
  net_fixture();
  ~net_fixture();

  planet earth{"earth", 1, [this] { exhaust(); }};
  planet mars{"mars", 2, [this] { exhaust(); }};
  planet jupiter{"jupiter", 3, [this] { exhaust(); }};
  std::vector<planet*> planets{&earth, &mars, &jupiter};

  /// Starts the node of `p` serving `namespaces`, with `secret`.
  void start(planet& p, std::vector<std::string> namespaces,
             const std::string& secret = "");

  /// Registers an actor handler that answers with the node's id.
  void add_handler(planet& p, const std::string& ns, const std::string& svc,
                   const std::string& method, bool idempotent = false);

  /// Lets `client` open one connection to `server` (the simulated network
  /// has no sockets: every connection is set up beforehand).
  void prepare_link(planet& client, planet& server);

  /// Runs every unfrozen planet until nothing is left to do (no time passes).
  void exhaust();

  /// Advances time by `t`, firing timers in order; a frozen planet's clock
  /// moves too, but its due timers wait until it thaws.
  void run_for(caf::timespan t);

  /// meshctl connect, from `from` to `to`: the JSON reply or the error.
  caf::expected<nlohmann::json> connect(planet& from, planet& to);

  /// The peer table as `from`'s console would show it.
  nlohmann::json peers(planet& from);

  /// Sends a dispatch into `p`'s router; the reply lands in the returned log.
  std::shared_ptr<reply_log> dispatch(planet& p, pb::DispatchRequest req);

  /// Who handled a reply (from the node_echo payload).
  static std::string handler_node(const pb::DispatchResponse& r);

  /// Monitors per node on the heartbeat ring for nodes started from now on.
  uint32_t monitors = 3;

private:
  int64_t next_handle_ = 100;
};

} // namespace mesh::test
