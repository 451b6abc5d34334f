// The connection manager's cluster-wide `trace`: this node's records of a
// trace and every routable peer's (asked through its ingress for us, which
// answers from its own ring), in one timeline. A peer that does not answer
// within trace_gather_timeout, or that is down, is named in nodes_missing:
// one dead node never stalls the answer.

#include <algorithm>

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/cluster/membership/connection_manager_state.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/status.hpp"

namespace mesh::detail {

namespace {

struct trace_gather {
  caf::typed_response_promise<nlohmann::json> promise;
  std::string id;
  nlohmann::json records = nlohmann::json::array();
  std::vector<std::string> asked;
  std::vector<std::string> missing;
  size_t remaining = 0;

  void arrive() {
    if (--remaining > 0)
      return;
    auto& xs = records;
    std::stable_sort(xs.begin(), xs.end(),
                     [](const nlohmann::json& a, const nlohmann::json& b) {
                       return a.value("time_us", int64_t{0})
                              < b.value("time_us", int64_t{0});
                     });
    if (xs.empty()) {
      promise.deliver(make_error(status_code::not_found,
                                 "no node of the cluster knows trace '" + id
                                   + "' (nodes keep their last "
                                     "traces.capacity traces)"
                                   + (missing.empty()
                                        ? std::string{}
                                        : "; no answer from "
                                            + nlohmann::json(missing).dump())));
      return;
    }
    promise.deliver(nlohmann::json{{"trace_id", id},
                                   {"records", std::move(xs)},
                                   {"nodes_asked", asked},
                                   {"nodes_missing", missing}});
  }
};

// A peer's answer: a JSON array of records. Anything else (another version,
// a broken peer) counts as no answer; records are kept only as objects, in
// the peer's name when they name no node.
bool take_records(trace_gather& g, const std::string& peer,
                  const std::string& text) {
  auto doc = parse_json(text);
  if (!doc || !doc->is_array())
    return false;
  for (auto& r : *doc) {
    if (!r.is_object())
      continue;
    if (!r.contains("node") || !r["node"].is_string())
      r["node"] = peer;
    g.records.push_back(std::move(r));
  }
  return true;
}

} // namespace

caf::result<nlohmann::json>
connection_manager_state::gather_trace(const std::string& id) {
  if (id.empty())
    return make_error(status_code::invalid_argument,
                      "trace needs \"id\" (a trace id)");
  auto g = std::make_shared<trace_gather>();
  g->promise = self->make_response_promise<nlohmann::json>();
  g->id = id;
  g->asked.push_back(cfg.node_id);
  if (cfg.traces)
    for (const auto& r : cfg.traces->find(id))
      g->records.push_back(r.to_json());
  g->remaining = 1; // this node; arrive() below
  for (const auto& [peer_id, rec] : dir.records()) {
    if (rec.state == peer_state::left)
      continue; // said goodbye: nothing to miss
    if (!is_routable(rec.state) || !rec.remote) {
      g->missing.push_back(peer_id);
      continue;
    }
    g->asked.push_back(peer_id);
    ++g->remaining;
    self->request(rec.remote, trace_gather_timeout, atom::trace_v, id)
      .then(
        [g, peer = peer_id](std::string& text) {
          if (!take_records(*g, peer, text))
            g->missing.push_back(peer);
          g->arrive();
        },
        [g, peer = peer_id](caf::error&) {
          g->missing.push_back(peer);
          g->arrive();
        });
  }
  auto promise = g->promise;
  g->arrive();
  return promise;
}

} // namespace mesh::detail
