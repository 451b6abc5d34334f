#include "actors/processes/strategy_evaluator.hpp"

#include <random>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster/connection_manager.hpp"
#include "actors/guarded_promise.hpp"
#include "actors/local_only.hpp"
#include "actors/processes/evidence_store.hpp"
#include "protocol/safe_json.hpp"
#include "actors/cluster/peer_table.hpp"
#include "config/manifest_set.hpp"
#include "protocol/json_payload.hpp"
#include "protocol/local_types.hpp"
#include "protocol/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

struct evaluator_state {
  static inline const char* name = "mesh.strategy_evaluator";

  strategies_actor::pointer self = nullptr;
  strategy_evaluator_config cfg;
  std::shared_ptr<spdlog::logger> log;
  manifest_set manifests;
  evidence_store evidence;
  std::mt19937_64 rng;
  peer_table_ptr peers;
  bool flush_pending = false;
  /// Decisions made on this node, per process and variant.
  std::map<std::string, std::map<std::string, uint64_t>> traffic;

  pb::ProcessResponse reply(const pb::ProcessRequest& req, status_code code,
                            std::string message) {
    pb::ProcessResponse r;
    r.mutable_status()->set_code(static_cast<pb::StatusCode>(code));
    r.mutable_status()->set_message(std::move(message));
    r.set_process_name(req.process_name());
    r.set_trace_id(req.trace_id());
    log->debug("trace={} process={} refused: {}", req.trace_id(),
               req.process_name(), r.status().message());
    return r;
  }

  caf::result<pb::ProcessResponse> process(const pb::ProcessRequest& req) {
    if (req.trace_id().empty())
      return reply(req, status_code::invalid_argument,
                   "trace_id is required for process dispatch");
    auto m = manifests.find(req.process_name());
    if (!m)
      return reply(req, status_code::not_found,
                   "process '" + req.process_name() + "' has no manifest on "
                     + cfg.node_id);
    auto context = value_to_json(req.user_context());
    if (context.is_null())
      context = nlohmann::json::object();
    if (!context.is_object())
      return reply(req, status_code::invalid_argument,
                   "user_context must be a JSON object");
    auto args = value_to_json(req.input_args());
    // The seed's "fails loudly": every violation, and no variant runs.
    if (auto bad = m->input_schema->validate(args); !bad.empty()) {
      std::string text;
      for (const auto& v : bad)
        text += (text.empty() ? "" : "; ")
                + (v.pointer.empty() ? std::string{"/"} : v.pointer) + ": "
                + v.message;
      return reply(req, status_code::invalid_argument,
                   "input_args violate the input_schema of '" + m->name
                     + "': " + text);
    }
    decision_input in{context, rng, &evidence.totals(*m)};
    auto d = m->chooser->choose(in);
    if (!d.ok())
      return reply(req, status_code::invalid_argument,
                   "process '" + m->name + "': " + d.error);
    const auto& chosen = m->variants[d.index];
    auto reason = m->chooser->explain(d, m->variants);
    ++traffic[m->name][chosen.id];
    log->info("trace={} process={} strategy={} variant={} reason={}",
              req.trace_id(), m->name, m->chooser->name(), chosen.id, reason);
    bool traced = tracing(cfg.traces)
                  && (req.trace() || cfg.traces->sampled(req.trace_id()));
    if (traced)
      cfg.traces->record(req.trace_id(), "strategy",
                         "process " + m->name + ": " + m->chooser->name()
                           + " chose variant " + chosen.id + " (" + reason
                           + ")",
                         {{"process", m->name},
                          {"strategy", m->chooser->name()},
                          {"variant", chosen.id},
                          {"path", chosen.path},
                          {"reason", reason}});
    pb::DispatchRequest dr;
    to_service_ref(chosen.key, *dr.mutable_ref());
    dr.mutable_payload()->PackFrom(req.input_args());
    dr.set_trace_id(req.trace_id());
    dr.mutable_directives()->set_trace(traced);
    dr.set_deadline_ms(req.deadline_ms() > 0
                         ? req.deadline_ms()
                         : static_cast<uint32_t>(cfg.deadline.count()));
    pb::ProcessResponse out;
    out.set_process_name(m->name);
    out.set_variant_id(chosen.id);
    out.set_variant_path(chosen.path);
    out.set_strategy(m->chooser->name());
    out.set_reason(std::move(reason));
    out.set_trace_id(req.trace_id());
    auto rp = self->make_response_promise<pb::ProcessResponse>();
    guarded_typed_promise<pb::ProcessResponse> answer{
      rp, "the strategy evaluator of node " + cfg.node_id};
    self->request(cfg.router.get(), caf::infinite, std::move(dr))
      .then(
        [answer, out](pb::DispatchResponse& r) mutable {
          *out.mutable_status() = std::move(*r.mutable_status());
          *out.mutable_payload() = std::move(*r.mutable_payload());
          out.set_handled_by(r.handled_by());
          answer.deliver(std::move(out));
        },
        [answer, out](caf::error& err) mutable {
          out.mutable_status()->set_code(
            static_cast<pb::StatusCode>(to_status_code(err)));
          out.mutable_status()->set_message(error_text(err));
          answer.deliver(std::move(out));
        });
    return rp;
  }

  caf::error outcome(const pb::OutcomeReport& report) {
    auto m = manifests.find(report.process_name());
    if (!m)
      return make_error(status_code::not_found,
                        "process '" + report.process_name()
                          + "' has no manifest on " + cfg.node_id);
    if (m->index_of(report.variant_id()) == m->variants.size())
      return make_error(status_code::not_found,
                        "process '" + m->name + "' has no variant '"
                          + report.variant_id() + "'");
    evidence.record(cfg.node_id, m->name, report.variant_id(),
                    report.success());
    schedule_flush();
    return caf::none;
  }

  void schedule_flush() {
    if (flush_pending)
      return;
    flush_pending = true;
    self->delayed_send(self, cfg.flush_delay, atom::flush_v);
  }

  // Saves the evidence and tells every peer (they merge; nothing is counted
  // twice because counters are per node and merged by maximum).
  void flush() {
    flush_pending = false;
    if (auto err = evidence.save(); !err.empty())
      log->warn("cannot save bandit evidence: {}", err);
    send_evidence_to_peers(false);
  }

  void send_evidence_to_peers(bool new_only) {
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
    if (evidence.merge(msg))
      schedule_flush(); // save it, and pass it on (converges, then stops)
  }

  // What a (re)load found wrong, for the node's log.
  void log_problems(const nlohmann::json& report) {
    if (auto i = report.find("error"); i != report.end())
      log->warn("manifests: {}", i->get<std::string>());
    for (const auto& f : report["failed"])
      log->warn("manifest error: {}", f["text"].get<std::string>());
  }

  nlohmann::json stats(const std::string& process) {
    auto m = manifests.find(process);
    if (!m)
      return nullptr;
    const auto& totals = evidence.totals(*m);
    auto rows = nlohmann::json::array();
    uint64_t all = 0;
    for (size_t i = 0; i < m->variants.size(); ++i) {
      const auto& v = m->variants[i];
      auto n = traffic[m->name][v.id];
      all += n;
      nlohmann::json row{{"variant", v.id}, {"path", v.path}, {"traffic", n}};
      if (std::string_view{m->chooser->name()} == "thompson_bandit") {
        auto c = totals[i];
        row["successes"] = c.successes;
        row["failures"] = c.failures;
        row["posterior_mean"] = static_cast<double>(c.successes + 1)
                                / static_cast<double>(c.successes
                                                      + c.failures + 2);
      }
      rows.push_back(std::move(row));
    }
    for (auto& row : rows)
      row["share"] = all == 0 ? 0.0
                              : static_cast<double>(row["traffic"].get<uint64_t>())
                                  / static_cast<double>(all);
    return {{"process", m->name},
            {"strategy", m->chooser->name()},
            {"node", cfg.node_id},
            {"decisions", all},
            {"variants", std::move(rows)}};
  }
};

strategies_actor::behavior_type
evaluator_behavior(strategies_actor::stateful_pointer<evaluator_state> self,
                   strategy_evaluator_config cfg) {
  auto& st = self->state;
  st.self = self;
  st.log = log::get("strategy");
  st.rng.seed(cfg.seed != 0 ? cfg.seed : std::random_device{}());
  st.cfg = std::move(cfg);
  // Evidence is kept for the manifests' bandits: without manifests there
  // is nothing of ours to keep (peers keep their own).
  st.evidence = evidence_store{
    st.cfg.node_id,
    st.cfg.manifests_dir.empty() ? std::string{} : st.cfg.data_dir,
    st.cfg.keep_evidence};
  if (auto err = st.evidence.load(); !err.empty())
    st.log->warn("ignoring bandit evidence file: {}", err);
  if (!st.cfg.manifests_dir.empty() && !st.cfg.keep_evidence)
    st.log->info("bandit evidence of node {} lasts as long as this process: "
                 "its id comes from listen port 0 (give it an id to keep "
                 "the evidence across restarts)",
                 st.cfg.node_id);
  auto report = st.manifests.load(st.cfg.manifests_dir);
  st.log_problems(report);
  if (!st.cfg.manifests_dir.empty())
    st.log->info("loaded {} process manifest(s) from {}",
                 report["loaded"].size(), st.cfg.manifests_dir);
  if (st.cfg.cluster)
    self->send(caf::actor_cast<cluster_actor>(st.cfg.cluster),
               atom::subscribe_v, caf::actor_cast<caf::actor>(self));
  return {
    [self](const pb::ProcessRequest& req) -> caf::result<pb::ProcessResponse> {
      if (!from_this_node(self))
        return refused_remote();
      return self->state.process(req);
    },
    [self](atom::outcome, const pb::OutcomeReport& r)
      -> caf::result<caf::ok_atom> {
      if (!from_this_node(self))
        return refused_remote();
      if (auto err = self->state.outcome(r))
        return err;
      return caf::ok_atom::value;
    },
    [self](atom::manifests) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      return json_result(self->state.manifests.list());
    },
    [self](atom::manifests, const std::string& name)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto doc = self->state.manifests.show(name);
      if (doc.is_null())
        return make_error(status_code::not_found,
                          "no manifest named '" + name + "'");
      return json_result(std::move(doc));
    },
    [self](atom::reload) -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto& st = self->state;
      auto report = st.manifests.load(st.cfg.manifests_dir);
      st.log_problems(report);
      st.log->info("reloaded manifests: {}", dump_json(report));
      return json_result(std::move(report));
    },
    [self](atom::stats, const std::string& process)
      -> caf::result<nlohmann::json> {
      if (!from_this_node(self))
        return refused_remote();
      auto doc = self->state.stats(process);
      if (doc.is_null())
        return make_error(status_code::not_found,
                          "process '" + process + "' has no manifest");
      return json_result(std::move(doc));
    },
    [self](atom::update, peer_table_ptr& table) {
      self->state.peers = std::move(table);
      self->state.send_evidence_to_peers(true); // catch up new peers
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
      if (auto err = st.evidence.close(); !err.empty())
        st.log->warn("bandit evidence: {}", err);
      return caf::ok_atom::value;
    },
  };
}

} // namespace

strategies_actor spawn_strategy_evaluator(caf::actor_system& sys,
                                          strategy_evaluator_config cfg) {
  return sys.spawn(evaluator_behavior, std::move(cfg));
}

} // namespace mesh
