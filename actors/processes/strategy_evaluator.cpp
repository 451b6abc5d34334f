#include "actors/processes/strategy_evaluator.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/membership/connection_manager.hpp"
#include "actors/local_only.hpp"
#include "actors/processes/process_core.hpp"
#include "actors/processes/process_gate.hpp"
#include "actors/cluster/membership/peer_table.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/json/safe_json.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

// The evaluator proper: what the gate (process_gate.hpp) passes on. Process
// requests and outcomes never reach it; the gate handles them.
using evaluator_actor = caf::typed_actor<
  caf::replies_to<atom::manifests>::with<nlohmann::json>,
  caf::replies_to<atom::manifests, std::string>::with<nlohmann::json>,
  caf::replies_to<atom::reload>::with<nlohmann::json>,
  caf::replies_to<atom::stats, std::string>::with<nlohmann::json>,
  caf::reacts_to<atom::update, peer_table_ptr>,
  caf::reacts_to<atom::evidence, pb::BanditEvidence>,
  caf::reacts_to<atom::flush>, // own timer
  caf::replies_to<atom::drain>::with<caf::ok_atom>>;

struct evaluator_state {
  static inline const char* name = "mesh.strategy_evaluator";

  evaluator_actor::pointer self = nullptr;
  process_core_ptr core;
  peer_table_ptr peers;

  // Saves the evidence and tells every peer (they merge; nothing is counted
  // twice because counters are per node and merged by maximum).
  void flush() {
    std::lock_guard<std::mutex> guard{core->mtx};
    core->flush_pending = false;
    if (auto err = core->evidence.save(); !err.empty())
      core->log->warn("cannot save bandit evidence: {}", err);
    send_evidence_to_peers(false);
  }

  // Call with the lock held.
  void send_evidence_to_peers(bool new_only) {
    auto& evidence = core->evidence;
    if (!peers || evidence.empty())
      return;
    auto msg = evidence.to_proto();
    for (const auto& [id, peer] : peers->peers)
      if (is_routable(peer.state) && peer.peer
          && (!new_only || !evidence.knows_peer(id)))
        self->send(peer.peer, atom::evidence_v, msg);
    for (const auto& [id, peer] : peers->peers)
      if (is_routable(peer.state))
        evidence.note_peer(id);
  }

  void merge(const pb::BanditEvidence& msg) {
    std::lock_guard<std::mutex> guard{core->mtx};
    if (core->evidence.merge(msg))
      core->schedule_flush_locked(); // save it, and pass it on
  }
};

// What a (re)load found wrong, for the node's log.
void log_problems(spdlog::logger& log, const nlohmann::json& report) {
  if (auto i = report.find("error"); i != report.end())
    log.warn("manifests: {}", i->get<std::string>());
  for (const auto& f : report["failed"])
    log.warn("manifest error: {}", f["text"].get<std::string>());
}

evaluator_actor::behavior_type
evaluator_behavior(evaluator_actor::stateful_pointer<evaluator_state> self,
                   process_core_ptr core) {
  auto& st = self->state;
  st.self = self;
  st.core = std::move(core);
  if (st.core->cfg.cluster)
    self->send(caf::actor_cast<cluster_actor>(st.core->cfg.cluster),
               atom::subscribe_v, caf::actor_cast<caf::actor>(self));
  return {
    [self](atom::manifests) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& core = *self->state.core;
      std::lock_guard<std::mutex> guard{core.mtx};
      return json_result(core.manifests.list());
    },
    [self](atom::manifests, const std::string& name)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& core = *self->state.core;
      nlohmann::json doc;
      {
        std::lock_guard<std::mutex> guard{core.mtx};
        doc = core.manifests.show(name);
      }
      if (doc.is_null())
        return make_error(status_code::not_found,
                          "no manifest named '" + name + "'");
      return json_result(std::move(doc));
    },
    [self](atom::reload) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& core = *self->state.core;
      auto report = core.load();
      log_problems(*core.log, report);
      core.log->info("reloaded manifests: {}", dump_json(report));
      return json_result(std::move(report));
    },
    [self](atom::stats, const std::string& process)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto doc = self->state.core->stats(process);
      if (doc.is_null())
        return make_error(status_code::not_found,
                          "process '" + process + "' has no manifest");
      return json_result(std::move(doc));
    },
    [self](atom::update, peer_table_ptr& table) {
      auto& st = self->state;
      st.peers = std::move(table);
      std::lock_guard<std::mutex> guard{st.core->mtx};
      st.send_evidence_to_peers(true); // catch up new peers
    },
    [self](atom::evidence, const pb::BanditEvidence& msg) {
      if (!from_this_node(self))
        return;
      self->state.merge(msg);
    },
    [self](atom::flush) {
      if (from_this_node(self)) // own timer
        self->state.flush();
    },
    [self](atom::drain) -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      auto& st = self->state;
      st.flush(); // shutdown: keep what was learned
      std::lock_guard<std::mutex> guard{st.core->mtx};
      if (auto err = st.core->evidence.close(); !err.empty())
        st.core->log->warn("bandit evidence: {}", err);
      return caf::ok_atom::value;
    },
  };
}

} // namespace

strategies_actor spawn_strategy_evaluator(caf::actor_system& sys,
                                          strategy_evaluator_config cfg) {
  // Loaded before anyone can ask: the gate decides from the first request.
  auto core = std::make_shared<process_core>(std::move(cfg));
  auto& log = *core->log;
  if (auto err = core->evidence.load(); !err.empty())
    log.warn("ignoring bandit evidence file: {}", err);
  const auto& c = core->cfg;
  if (!c.manifests_dir.empty() && !c.keep_evidence)
    log.info("bandit evidence of node {} lasts as long as this process: "
             "its id comes from listen port 0 (give it an id to keep "
             "the evidence across restarts)",
             c.node_id);
  auto report = core->load();
  log_problems(log, report);
  if (!c.manifests_dir.empty())
    log.info("loaded {} process manifest(s) from {}", report["loaded"].size(),
             c.manifests_dir);
  auto evaluator = sys.spawn(evaluator_behavior, core);
  core->owner = caf::actor_cast<caf::weak_actor_ptr>(evaluator);
  return caf::actor_cast<strategies_actor>(spawn_process_gate(
    sys, std::move(core), caf::actor_cast<caf::actor>(evaluator)));
}

} // namespace mesh
