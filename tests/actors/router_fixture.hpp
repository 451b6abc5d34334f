#pragma once

// A request router on the deterministic scheduler with fake peers, for
// the pipeline and resilience suites: the router (node-a) serves nothing
// itself, so every request goes to a peer; each peer is a fake ingress that
// answers every pb::ServeRequest as the test says (ok, a failure with or
// without an executor, or no answer until the test releases it). Time moves
// only when a test advances it.

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <nlohmann/json.hpp>

#include "check.hpp"
#include "fixtures.hpp"

#include "actors/cluster/membership/peer_table.hpp"
#include "actors/routing/request_router.hpp"
#include "pipeline/hooks.hpp"
#include "pipeline/policy.hpp"
#include "protocol/json/json_payload.hpp"

namespace mesh::test {

/// One answer of a fake peer.
struct fake_answer {
  status_code code = status_code::ok;
  bool ran = true;   ///< executor_id set: the peer's handler ran
  bool hold = false; ///< no answer until the test releases the request

  static fake_answer ok() {
    return {};
  }
  static fake_answer fail(status_code c, bool ran = true) {
    return {c, ran, false};
  }
  static fake_answer frozen() {
    return {status_code::ok, true, true};
  }
};

/// What a fake peer does and what it saw.
struct fake_peer {
  std::string id;
  fake_answer otherwise; ///< how it answers every request
  std::vector<pb::ServeRequest> received;
  /// Requests not answered yet: trace id and promise.
  std::vector<std::pair<std::string, caf::response_promise>> held;
  /// Batched requests not answered yet: trace id, tag and the router.
  struct held_tag {
    std::string trace_id;
    uint64_t tag;
    caf::actor router;
  };
  std::vector<held_tag> held_batched;
  size_t batches = 0; ///< ServeBatch messages received

  pb::ServeResponse answer(const fake_answer& a,
                           const std::string& trace_id) const {
    pb::ServeResponse r;
    r.mutable_status()->set_code(static_cast<pb::StatusCode>(a.code));
    if (a.code == status_code::ok)
      *r.mutable_payload() = json_to_any(nlohmann::json{{"node", id}});
    else
      r.mutable_status()->set_message(id + " says " + to_string(a.code));
    if (a.ran)
      r.set_executor_id(id);
    r.set_trace_id(trace_id);
    return r;
  }

  bool holds(const std::string& trace_id) const {
    return std::any_of(held.begin(), held.end(),
                       [&](const auto& h) { return h.first == trace_id; })
           || std::any_of(held_batched.begin(), held_batched.end(),
                          [&](const auto& h) { return h.trace_id == trace_id; });
  }
};

using fake_peer_ptr = std::shared_ptr<fake_peer>;

/// Answers each ServeRequest as `otherwise` says. A ServeResponse the test
/// sends it answers the held request with the same trace id (a promise is
/// delivered from its own actor: outside it, CAF 0.17's test scheduler has
/// no execution context for it).
inline caf::behavior fake_peer_actor(caf::event_based_actor* self,
                                     fake_peer_ptr p) {
  return {
      [self, p](pb::ServeRequest& req) -> caf::result<pb::ServeResponse> {
        p->received.push_back(req);
        auto a = p->otherwise;
        if (a.hold) {
          p->held.emplace_back(req.trace_id(), self->make_response_promise());
          return caf::delegated<pb::ServeResponse>{};
        }
        return p->answer(a, req.trace_id());
      },
      [self, p](atom::batch, pb::ServeBatch& b) {
        // As a peer's ingress does: answers go back to the router as
        // (atom::batch, peer id, ServeReplies), in one batch.
        ++p->batches;
        auto router = caf::actor_cast<caf::actor>(self->current_sender());
        pb::ServeReplies out;
        for (int k = 0; k < b.requests_size(); ++k) {
          const auto& req = b.requests(k);
          p->received.push_back(req);
          if (p->otherwise.hold) {
            p->held_batched.push_back({req.trace_id(), b.tags(k), router});
            continue;
          }
          *out.add_responses() = p->answer(p->otherwise, req.trace_id());
          out.add_tags(b.tags(k));
        }
        if (out.tags_size() > 0)
          self->send(router, atom::batch_v, p->id, std::move(out));
      },
      [self, p](pb::ServeResponse& r) {
        for (auto i = p->held_batched.begin(); i != p->held_batched.end(); ++i)
          if (i->trace_id == r.trace_id()) {
            pb::ServeReplies out;
            *out.add_responses() = std::move(r);
            out.add_tags(i->tag);
            auto router = i->router;
            p->held_batched.erase(i);
            self->send(router, atom::batch_v, p->id, std::move(out));
            return;
          }
        for (auto i = p->held.begin(); i != p->held.end(); ++i)
          if (i->first == r.trace_id()) {
            auto rp = std::move(i->second);
            p->held.erase(i);
            rp.deliver(std::move(r));
            return;
          }
      },
  };
}

/// The methods every fake peer serves: ns/Svc/Get (idempotent),
/// ns/Svc/Put (not idempotent) and misc/Tool/Run (idempotent).
inline const service_key get_key{"ns", "Svc", "Get"};
inline const service_key put_key{"ns", "Svc", "Put"};
inline const service_key run_key{"misc", "Tool", "Run"};

struct router_fixture : actor_fixture {
  pipeline_memory_ptr mem = std::make_shared<pipeline_memory>();
  trace_ring_ptr traces; ///< set before start() to record decisions
  std::map<std::string, fake_peer_ptr> peers; ///< by id
  std::map<std::string, caf::actor> fakes;    ///< by id
  std::shared_ptr<reply_log> replies = std::make_shared<reply_log>();
  caf::actor router;
  caf::actor client;

  ~router_fixture() {
    for (auto& [id, p] : peers) {
      p->held.clear();
      p->held_batched.clear();
    }
    std::vector<caf::actor> all{client, router};
    for (const auto& [id, fake] : fakes)
      all.push_back(fake);
    for (const auto& a : all)
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// Spawns the router with `policies` and one fake peer per id (all up,
  /// sharing "ns" and "misc", serving the three methods above).
  /// With `data`, batches to a peer with an open link on it go there.
  void start(std::vector<policy> policies,
             const std::vector<std::string>& peer_ids,
             std::shared_ptr<data_plane> data = nullptr) {
    mem->set(std::make_shared<const policy_set>(std::move(policies)));
    router_config cfg;
    cfg.node_id = "node-a";
    cfg.pipeline = mem;
    cfg.traces = traces;
    cfg.data = std::move(data);
    router = caf::actor_cast<caf::actor>(spawn_request_router(sys, cfg));
    client = sys.spawn(request_client, router, replies);
    auto table = std::make_shared<peer_table>();
    table->version = 1;
    for (const auto& id : peer_ids) {
      auto p = std::make_shared<fake_peer>();
      p->id = id;
      peers.emplace(id, p);
      auto fake = sys.spawn(fake_peer_actor, p);
      fakes.emplace(id, fake);
      peer_route route;
      route.id = id;
      route.state = peer_state::up;
      route.peer = caf::actor_cast<peer_actor>(fake);
      route.shared = {"ns", "misc"};
      route.methods = {{get_key, true}, {put_key, false}, {run_key, true}};
      table->peers.emplace(id, std::move(route));
    }
    table->index();
    self->send(router, atom::update_v, peer_table_ptr{std::move(table)});
    run();
  }

  fake_peer& peer(const std::string& id) {
    auto i = peers.find(id);
    CAF_REQUIRE(i != peers.end());
    return *i->second;
  }

  /// Answers the held request `trace_id` (wherever it is held) with `a`
  /// and runs the scheduler; returns the peer that held it.
  std::string release(const std::string& trace_id, fake_answer a) {
    for (auto& [id, p] : peers)
      if (p->holds(trace_id)) {
        self->send(fakes.at(id), p->answer(a, trace_id));
        run();
        return id;
      }
    CAF_FAIL("no peer holds " << trace_id);
    return {};
  }

  void all_peers(fake_answer a) {
    for (auto& [id, p] : peers)
      p->otherwise = a;
  }

  /// The reply with `trace_id` (fails the test when there is none).
  const pb::DispatchResponse& reply(const std::string& trace_id) {
    for (const auto& r : replies->dispatch)
      if (r.trace_id() == trace_id)
        return r;
    CAF_FAIL("no reply for " << trace_id);
    return replies->dispatch.front();
  }

  /// Every ServeRequest the fake peers received.
  size_t received_total() const {
    size_t n = 0;
    for (const auto& [id, p] : peers)
      n += p->received.size();
    return n;
  }

  /// Sends a request through the client and runs the scheduler (no time
  /// passes); the reply, if any, is in `replies`.
  void send(pb::DispatchRequest req) {
    self->send(client, std::move(req));
    run();
  }

  /// Sends a request that must be answered at once; returns the answer.
  pb::DispatchResponse dispatch(pb::DispatchRequest req) {
    auto before = replies->dispatch.size();
    send(std::move(req));
    CAF_REQUIRE_EQUAL(replies->dispatch.size(), before + 1);
    CAF_REQUIRE_EQUAL(replies->errors.size(), 0u);
    return replies->dispatch.back();
  }

  /// Moves simulated time on and runs what became due.
  void advance(std::chrono::milliseconds d) {
    advance_time(d);
    run();
  }

  nlohmann::json stats() {
    return ask<nlohmann::json>(router, atom::stats_v);
  }

  /// One counter of the router's stats, by value (CAF_CHECK_EQUAL keeps a
  /// reference to its argument: never into a temporary document).
  int64_t stat(const std::string& name) {
    return stats().at(name).get<int64_t>();
  }

  nlohmann::json breakers() {
    return ask<nlohmann::json>(router, atom::breakers_v);
  }

  std::string breaker_state(const std::string& node) {
    return breaker(node).at("state").get<std::string>();
  }

  /// The breakers row of `node` (fails the test when there is none).
  nlohmann::json breaker(const std::string& node) {
    for (auto& row : breakers())
      if (row.at("node") == node)
        return row;
    CAF_FAIL("no breakers row for " << node);
    return {};
  }

  hook_entry& hook(const std::string& name) {
    auto h = mem->hooks->find(name);
    CAF_REQUIRE(h != nullptr);
    return *h;
  }
};

inline pb::DispatchRequest request(const service_key& key,
                                   const std::string& trace_id = {}) {
  auto req = make_dispatch(key.ns, key.service, key.method);
  req.set_trace_id(trace_id);
  return req;
}

/// A request whose reply carries the explanation even when it is a plain
/// success (directive explain).
inline pb::DispatchRequest explained(const service_key& key,
                                     const std::string& trace_id = {}) {
  auto req = request(key, trace_id);
  req.mutable_directives()->set_explain(true);
  return req;
}

/// A policy named `name` for `match` that retries at once (no backoff).
/// Not inlined: GCC 12 at -O2 then reports a false maybe-uninitialized in
/// retry_on's initializer list.
[[gnu::noinline]] inline policy make_policy(std::string name, std::string match) {
  policy p;
  p.name = std::move(name);
  p.match = std::move(match);
  p.retry.initial = std::chrono::milliseconds{0};
  p.retry.jitter = 0;
  return p;
}

inline std::string code_name(const pb::DispatchResponse& r) {
  return to_string(code_of(r.status()));
}

inline std::string code_name(const pb::Attempt& a) {
  return to_string(static_cast<status_code>(a.status()));
}

using strings = std::vector<std::string>;

/// The nodes of a reply's attempts, in order.
inline std::vector<std::string> nodes_of(const pb::DispatchResponse& r) {
  std::vector<std::string> out;
  for (const auto& a : r.explain().attempts())
    out.push_back(a.node());
  return out;
}

/// The statuses of a reply's attempts, in order.
inline std::vector<std::string> statuses_of(const pb::DispatchResponse& r) {
  std::vector<std::string> out;
  for (const auto& a : r.explain().attempts())
    out.push_back(code_name(a));
  return out;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace mesh::test
