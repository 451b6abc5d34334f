#pragma once

// process_core: the strategy evaluator's state and its per-request work,
// shared by its two parts: the process gate (process_gate.hpp), which makes
// each decision in the thread of the actor that asks for it, and the
// evaluator actor (strategy_evaluator.cpp), which keeps manifests, evidence
// and peers current. Everything under `mtx` is read and written by both;
// the lock is held for a manifest lookup or a decision, never for I/O of
// the hot path (the evaluator saves evidence under it, every flush_delay
// at most).

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "actors/processes/evidence_store.hpp"
#include "actors/processes/input_check.hpp"
#include "actors/processes/strategy_evaluator.hpp"
#include "config/manifests/manifest_set.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace spdlog {
class logger;
} // namespace spdlog

namespace mesh {

/// One active manifest, compiled for the hot path.
struct process_entry {
  manifest_ptr m;
  input_check check; ///< the input_schema's fast path
  bool context_value = false; ///< chooser->reads_context_value()
  /// The traffic counter of each variant (nodes of process_core::traffic,
  /// which never loses one: the pointers stay valid).
  std::vector<uint64_t*> traffic;
  std::string strategy; ///< chooser->name(), copied into every reply
};

using process_entry_ptr = std::shared_ptr<const process_entry>;

/// A decision on its way to the router: what the reply needs.
struct process_call {
  process_entry_ptr entry;
  size_t variant = 0;
  decision d;
  std::string reason; ///< built at the decision only if logged or traced
  bool has_reason = false;
  std::string trace_id;
};

class process_core {
public:
  explicit process_core(strategy_evaluator_config config);

  const strategy_evaluator_config cfg;
  const std::string who; ///< "the strategy evaluator of node X"
  std::shared_ptr<spdlog::logger> log;
  /// The evaluator actor: where the flush timer goes (set once, at spawn).
  caf::weak_actor_ptr owner;

  // -- per request (any thread) ----------------------------------------------

  /// Checks `req`, decides, logs and traces the decision; on success fills
  /// `call` and `out` (the dispatch to the router) and returns nothing, else
  /// the refusal to answer with.
  std::optional<pb::ProcessResponse> decide(const pb::ProcessRequest& req,
                                            process_call& call,
                                            pb::DispatchRequest& out);

  /// Writes the reply once the router answered into `out` (empty; built in
  /// the message that carries it, see message_in_place.hpp). Takes the
  /// status, payload and handler's node out of `r`.
  void finish(process_call& call, pb::DispatchResponse& r,
              pb::ProcessResponse& out);
  void finish(process_call& call, const caf::error& err,
              pb::ProcessResponse& out);

  /// A refusal (status `code`), logged at debug as before.
  pb::ProcessResponse refuse(const pb::ProcessRequest& req, status_code code,
                             std::string message);

  /// Counts an outcome; not_found for an unknown process or variant.
  caf::error outcome(const pb::OutcomeReport& report);

  // -- the evaluator actor's (under the lock unless said otherwise) ----------

  std::mutex mtx;
  manifest_set manifests;
  evidence_store evidence;
  decision_rng rng;
  /// Decisions made on this node, per process and variant.
  std::map<std::string, std::map<std::string, uint64_t>> traffic;
  bool flush_pending = false;

  /// (Re)loads the manifests and compiles them; takes the lock.
  nlohmann::json load();

  /// Traffic and evidence of one process (null: unknown); takes the lock.
  nlohmann::json stats(const std::string& process);

  /// Sends the owner its flush message after flush_delay unless one is
  /// pending; call with the lock held.
  void schedule_flush_locked();

private:
  process_entry_ptr find(std::string_view name);

  std::map<std::string, process_entry_ptr, std::less<>> entries_;
};

using process_core_ptr = std::shared_ptr<process_core>;

} // namespace mesh
