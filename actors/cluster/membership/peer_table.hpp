#pragma once

// The connection manager's immutable snapshot of the cluster, pushed to the
// router on every change (as the registry pushes its handler_table): who is
// a member, in what state, what it shares with this node and which methods
// it serves. The router reads it on the hot path without messages or locks.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <caf/actor.hpp>

#include "actors/handlers/handler_table.hpp"
#include "cluster/peer_state.hpp"
#include "protocol/messaging/peer_actors.hpp"

namespace mesh {

struct peer_route {
  std::string id;
  std::string address;
  std::string connection_id;
  peer_state state = peer_state::joining;
  /// The peer's ingress for this node (protocol/messaging/peer_actors.hpp): the one
  /// handle every request, publish and evidence for the peer goes to.
  peer_actor peer;
  /// Namespaces both this node and the peer serve: only these route.
  std::set<std::string, std::less<>> shared;
  /// Every handler the peer serves, with its idempotent flag.
  std::map<service_key, bool, service_key_less> methods;

  bool shares(std::string_view ns) const {
    return shared.find(ns) != shared.end();
  }

  /// nullopt when the peer does not serve the method; else idempotency.
  std::optional<bool> method(const service_key_view& key) const {
    auto i = methods.find(key);
    if (i == methods.end())
      return std::nullopt;
    return i->second;
  }
};

struct peer_table {
  uint64_t version = 0;
  std::map<std::string, peer_route, std::less<>> peers; ///< by node id
  /// Peers that share the method's namespace and serve the method: the
  /// candidates of an auto-routed request, whatever their state.
  std::map<service_key, std::vector<const peer_route*>, service_key_less>
    by_method;

  const peer_route* find(std::string_view id) const {
    auto i = peers.find(id);
    return i == peers.end() ? nullptr : &i->second;
  }

  const std::vector<const peer_route*>*
  serving(const service_key_view& key) const {
    auto i = by_method.find(key);
    return i == by_method.end() ? nullptr : &i->second;
  }

  /// Fills by_method from peers (after every change of peers).
  void index();
};

using peer_table_ptr = std::shared_ptr<const peer_table>;

} // namespace mesh
