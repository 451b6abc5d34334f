#pragma once

// The registry's immutable snapshot of what this node serves. The registry
// builds a new one on every change and pushes it to its subscribers (the
// router, the connection manager), which swap their pointer: the hot path
// reads it without locks or messages.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include <caf/actor.hpp>

#include "actors/handlers/inline_call.hpp"
#include "actors/routing/registry/registry_validator.hpp"
#include "protocol/service_key.hpp"

namespace mesh {

/// (namespace, service, method) as views: looks up a `service_key` without
/// copying the strings of a request.
struct service_key_view {
  std::string_view ns, service, method;
};

struct service_key_less {
  using is_transparent = void;
  static auto tie(const service_key& x) {
    return std::tie(x.ns, x.service, x.method);
  }
  static auto tie(const service_key_view& x) {
    return std::make_tuple(x.ns, x.service, x.method);
  }
  template <class T, class U>
  bool operator()(const T& x, const U& y) const {
    auto [a1, a2, a3] = tie(x);
    auto [b1, b2, b3] = tie(y);
    // One comparison per part (not != then <): every lookup by name, per
    // request, walks a tree of these.
    if (int c = std::string_view{a1}.compare(b1); c != 0)
      return c < 0;
    if (int c = std::string_view{a2}.compare(b2); c != 0)
      return c < 0;
    return std::string_view{a3} < std::string_view{b3};
  }
};

struct handler_route {
  caf::actor executor;
  bool idempotent = false;
  /// Set for non-blocking function handlers: the router calls it directly.
  inline_call_ptr fast;

  /// The fast path while it holds (null: ask the executor).
  inline_call* inline_path() const noexcept {
    return fast && !fast->demoted() ? fast.get() : nullptr;
  }
};

struct handler_table {
  uint64_t version = 0;
  /// Handlers of served namespaces only: inactive ones are not routable.
  std::map<service_key, handler_route, service_key_less> active;
  /// What this node serves: declared with --namespaces, or else the
  /// namespaces of its registered handlers.
  std::set<std::string, std::less<>> namespaces;
  /// Null when no validator is configured.
  registry_validator_ptr validator;

  const handler_route* find(const service_key_view& key) const {
    auto i = active.find(key);
    return i == active.end() ? nullptr : &i->second;
  }

  bool serves(std::string_view ns) const {
    return namespaces.find(ns) != namespaces.end();
  }
};

using handler_table_ptr = std::shared_ptr<const handler_table>;

} // namespace mesh
