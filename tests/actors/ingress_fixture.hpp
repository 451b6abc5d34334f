#pragma once

// A peer's ingress on the deterministic scheduler (the batch_ingress and
// batch_chunks suites), armed for peer "mars", whose node the test's own
// actors play: a fake router answers every request ok at once (but those
// whose trace id starts with "exec", which it hands back to go alone, as
// the real router does with requests that need an executor), and a fake
// ingress of the peer records the answers. `seen->events` lists, in order,
// each batch the router got ("serve N") and each answer set that left
// ("reply N").

#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "actors/cluster/ingress/peer_ingress.hpp"
#include "fixtures.hpp"

namespace mesh::test {

struct seen_batches {
  std::vector<pb::ServeReplies> replies;  ///< at the peer's ingress
  std::vector<pb::ServeRequest> requests; ///< at the router
  std::vector<std::string> passed_on;     ///< ServeReplies passed on, by peer
  std::vector<std::string> events;        ///< "serve N", "reply N", in order
};

using seen_ptr = std::shared_ptr<seen_batches>;

// Stands in for the peer's ingress for us: records the answers.
inline caf::behavior fake_return(caf::event_based_actor*, seen_ptr seen) {
  return {
    [seen](atom::batch, pb::ServeReplies& r) {
      seen->events.push_back("reply " + std::to_string(r.tags_size()));
      seen->replies.push_back(std::move(r));
    },
  };
}

// Stands in for the router: answers every Serve request ok, echoing its
// trace id ("big": with a payload of 200 bytes); records the peer's
// answers passed on to it.
inline pb::ServeResponse echo(const pb::ServeRequest& req) {
  pb::ServeResponse r;
  r.set_executor_id("earth");
  r.set_trace_id(req.trace_id());
  if (req.trace_id() == "big")
    r.mutable_payload()->set_value(std::string(200, 'x'));
  return r;
}

// As the real router does with a whole batch: answers at once, except the
// requests whose trace id starts with "exec" (they need an executor: sent
// back, for the ingress to send alone).
inline caf::behavior echo_router(caf::event_based_actor*, seen_ptr seen) {
  return {
    [seen](const pb::ServeRequest& req) {
      seen->requests.push_back(req);
      return echo(req);
    },
    [seen](atom::batch, pb::ServeBatch& b) {
      seen->events.push_back("serve " + std::to_string(b.tags_size()));
      pb::ServeReplies done;
      pb::ServeBatch rest;
      for (int i = 0; i < b.requests_size(); ++i) {
        const auto& req = b.requests(i);
        if (req.trace_id().rfind("exec", 0) == 0) {
          *rest.add_requests() = req;
          rest.add_tags(b.tags(i));
          continue;
        }
        seen->requests.push_back(req);
        *done.add_responses() = echo(req);
        done.add_tags(b.tags(i));
      }
      return caf::make_message(std::move(done), std::move(rest));
    },
    [seen](atom::batch, const std::string& peer, const pb::ServeReplies&) {
      seen->passed_on.push_back(peer);
    },
  };
}

inline caf::behavior idle_cluster() {
  return {[](atom::heartbeat, const pb::Heartbeat&) {}};
}

struct ingress_fixture : actor_fixture {
  seen_ptr seen = std::make_shared<seen_batches>();
  caf::actor cluster = sys.spawn(idle_cluster);
  caf::actor router = sys.spawn(echo_router, seen);
  caf::actor back = sys.spawn(fake_return, seen);
  peer_ingress_actor in;

  ingress_fixture() {
    in = spawn_peer_ingress(sys, config());
    run();
  }

  ~ingress_fixture() {
    stop({caf::actor_cast<caf::actor>(in), cluster, router, back});
  }

  /// An armed ingress for peer "mars", whose node the test's own actors
  /// play, answering to `back`.
  peer_ingress_config config() {
    peer_ingress_config cfg;
    cfg.node_id = "earth";
    cfg.peer_node = sys.node();
    cfg.peer_id = "mars";
    cfg.reply_to = caf::actor_cast<peer_actor>(back);
    cfg.cluster = caf::actor_cast<cluster_actor>(cluster);
    cfg.router = caf::actor_cast<router_actor>(router);
    return cfg;
  }

  static pb::ServeBatch batch(int n, uint64_t first_tag) {
    pb::ServeBatch b;
    for (int i = 0; i < n; ++i) {
      auto* req = b.add_requests();
      req->set_trace_id("t" + std::to_string(first_tag + i));
      b.add_tags(first_tag + static_cast<uint64_t>(i));
    }
    return b;
  }

  size_t answers() const {
    size_t n = 0;
    for (const auto& r : seen->replies)
      n += static_cast<size_t>(r.responses_size());
    return n;
  }
};

} // namespace mesh::test
