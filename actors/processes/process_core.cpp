#include "actors/processes/process_core.hpp"

#include <type_traits>

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <google/protobuf/struct.pb.h>

#include "protocol/json/json_payload.hpp"
#include "protocol/request_checks.hpp"
#include "protocol/status.hpp"
#include "protocol/value_wire.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

// What a strategy reads when the context goes to it as protobuf.
const nlohmann::json& empty_object() {
  static const nlohmann::json doc = nlohmann::json::object();
  return doc;
}

} // namespace

process_core::process_core(strategy_evaluator_config config)
  : cfg(std::move(config)),
    who("the strategy evaluator of node " + cfg.node_id),
    log(log::get("strategy")) {
  rng.seed(cfg.seed != 0 ? cfg.seed : std::random_device{}());
  // Evidence is kept for the manifests' bandits: without manifests there
  // is nothing of ours to keep (peers keep their own).
  evidence = evidence_store{cfg.node_id,
                            cfg.manifests_dir.empty() ? std::string{}
                                                      : cfg.data_dir,
                            cfg.keep_evidence};
}

nlohmann::json process_core::load() {
  std::lock_guard<std::mutex> guard{mtx};
  auto report = manifests.load(cfg.manifests_dir);
  // Compile what is active now; an unchanged manifest keeps its entry.
  std::map<std::string, process_entry_ptr, std::less<>> next;
  for (const auto& [name, m] : manifests.active()) {
    if (auto i = entries_.find(name); i != entries_.end() && i->second->m == m) {
      next.emplace(name, i->second);
      continue;
    }
    auto e = std::make_shared<process_entry>(
      process_entry{m, input_check{m->input_schema_doc},
                    m->chooser->reads_context_value(), {},
                    m->chooser->name()});
    auto& counts = traffic[m->name];
    for (const auto& v : m->variants)
      e->traffic.push_back(&counts[v.id]);
    next.emplace(name, std::move(e));
  }
  entries_ = std::move(next);
  return report;
}

process_entry_ptr process_core::find(std::string_view name) {
  std::lock_guard<std::mutex> guard{mtx};
  auto i = entries_.find(name);
  return i == entries_.end() ? nullptr : i->second;
}

pb::ProcessResponse process_core::refuse(const pb::ProcessRequest& req,
                                         status_code code,
                                         std::string message) {
  pb::ProcessResponse r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(code));
  r.mutable_status()->set_message(std::move(message));
  r.set_process_name(req.process_name());
  // A bad trace id is not carried back (it would reach logs and headers).
  r.set_trace_id(check_trace_id(req.trace_id()).empty() ? req.trace_id()
                                                        : make_trace_id());
  log->debug("trace={} process={} refused: {}", r.trace_id(),
             r.process_name(), r.status().message());
  return r;
}

std::optional<pb::ProcessResponse>
process_core::decide(const pb::ProcessRequest& req, process_call& call,
                     pb::DispatchRequest& dr) {
  using google::protobuf::Value;
  if (req.trace_id().empty())
    return refuse(req, status_code::invalid_argument,
                  "trace_id is required for process dispatch");
  if (auto bad = check_trace_id(req.trace_id()); !bad.empty())
    return refuse(req, status_code::invalid_argument, std::move(bad));
  auto entry = find(req.process_name());
  if (!entry)
    return refuse(req, status_code::not_found,
                  "process '" + req.process_name() + "' has no manifest on "
                    + cfg.node_id);
  const auto& m = *entry->m;
  // The context as JSON only for a strategy that reads it so (a missing
  // or null context is an empty object).
  const auto& ctx = req.user_context();
  auto ctx_kind = ctx.kind_case();
  bool no_context = ctx_kind == Value::kNullValue
                    || ctx_kind == Value::KIND_NOT_SET;
  if (!no_context && ctx_kind != Value::kStructValue)
    return refuse(req, status_code::invalid_argument,
                  "user_context must be a JSON object");
  nlohmann::json context;
  const Value* context_value = nullptr;
  if (entry->context_value && !no_context)
    context_value = &ctx;
  else if (!no_context)
    context = value_to_json(ctx);
  // The seed's "fails loudly": every violation, and no variant runs. The
  // compiled check passes what is surely valid; the rest takes the full
  // check, whose words the caller gets.
  if (!entry->check.accepts(req.input_args())) {
    auto bad = m.input_schema->validate(value_to_json(req.input_args()));
    if (!bad.empty()) {
      std::string text;
      for (const auto& v : bad)
        text += (text.empty() ? "" : "; ")
                + (v.pointer.empty() ? std::string{"/"} : v.pointer) + ": "
                + v.message;
      return refuse(req, status_code::invalid_argument,
                    "input_args violate the input_schema of '" + m.name
                      + "': " + text);
    }
  }
  {
    std::lock_guard<std::mutex> guard{mtx};
    decision_input in{context_value != nullptr || context.is_null()
                        ? empty_object()
                        : context,
                      rng, &evidence.totals(m), context_value};
    call.d = m.chooser->choose(in);
    if (call.d.ok())
      ++*entry->traffic[call.d.index];
  }
  if (!call.d.ok())
    return refuse(req, status_code::invalid_argument,
                  "process '" + m.name + "': " + call.d.error);
  call.variant = call.d.index;
  const auto& chosen = m.variants[call.variant];
  bool traced = tracing(cfg.traces)
                && (req.trace() || cfg.traces->sampled(req.trace_id()));
  // The reason is text for people: built here only if a log line or a
  // trace record wants it now, else once, into the reply.
  if (traced || log->should_log(spdlog::level::info)) {
    m.chooser->explain_to(call.d, m.variants, call.reason);
    call.has_reason = true;
    log->info("trace={} process={} strategy={} variant={} reason={}",
              req.trace_id(), m.name, m.chooser->name(), chosen.id,
              call.reason);
  }
  if (traced)
    cfg.traces->record(req.trace_id(), "strategy",
                       "process " + m.name + ": " + m.chooser->name()
                         + " chose variant " + chosen.id + " ("
                         + call.reason + ")",
                       {{"process", m.name},
                        {"strategy", m.chooser->name()},
                        {"variant", chosen.id},
                        {"path", chosen.path},
                        {"reason", call.reason}});
  to_service_ref(chosen.key, *dr.mutable_ref());
  // As Any::PackFrom, without building the type URL each time.
  using args_type = std::decay_t<decltype(req.input_args())>;
  static const std::string args_url
    = "type.googleapis.com/" + args_type::descriptor()->full_name();
  auto* payload = dr.mutable_payload();
  payload->set_type_url(args_url);
  serialize_value(req.input_args(), *payload->mutable_value());
  dr.set_trace_id(req.trace_id());
  if (traced) // absent directives read as all false
    dr.mutable_directives()->set_trace(true);
  dr.set_deadline_ms(req.deadline_ms() > 0
                       ? req.deadline_ms()
                       : static_cast<uint32_t>(cfg.deadline.count()));
  call.trace_id = req.trace_id();
  call.entry = std::move(entry);
  return std::nullopt;
}

namespace {

void reply_of(process_call& call, pb::ProcessResponse& out) {
  const auto& m = *call.entry->m;
  const auto& chosen = m.variants[call.variant];
  out.set_process_name(m.name);
  out.set_variant_id(chosen.id);
  out.set_variant_path(chosen.path);
  out.set_strategy(call.entry->strategy);
  if (call.has_reason)
    out.set_reason(std::move(call.reason));
  else
    m.chooser->explain_to(call.d, m.variants, *out.mutable_reason());
  out.set_trace_id(std::move(call.trace_id));
}

} // namespace

void process_core::finish(process_call& call, pb::DispatchResponse& r,
                          pb::ProcessResponse& out) {
  reply_of(call, out);
  // Both on the heap (no arenas here): the parts change hands, nothing is
  // allocated or copied.
  out.set_allocated_status(r.release_status());
  out.set_allocated_payload(r.release_payload());
  out.set_handled_by(std::move(*r.mutable_handled_by()));
}

void process_core::finish(process_call& call, const caf::error& err,
                          pb::ProcessResponse& out) {
  reply_of(call, out);
  out.mutable_status()->set_code(
    static_cast<pb::StatusCode>(to_status_code(err)));
  out.mutable_status()->set_message(error_text(err));
}

caf::error process_core::outcome(const pb::OutcomeReport& report) {
  auto entry = find(report.process_name());
  if (!entry)
    return make_error(status_code::not_found,
                      "process '" + report.process_name()
                        + "' has no manifest on " + cfg.node_id);
  const auto& m = *entry->m;
  if (m.index_of(report.variant_id()) == m.variants.size())
    return make_error(status_code::not_found,
                      "process '" + m.name + "' has no variant '"
                        + report.variant_id() + "'");
  std::lock_guard<std::mutex> guard{mtx};
  evidence.record(cfg.node_id, m.name, report.variant_id(), report.success());
  schedule_flush_locked();
  return caf::none;
}

void process_core::schedule_flush_locked() {
  if (flush_pending)
    return;
  auto self = caf::actor_cast<caf::strong_actor_ptr>(owner);
  if (!self)
    return;
  flush_pending = true;
  // As the evaluator's own delayed_send: it comes from the evaluator.
  auto& clock = self->home_system->clock();
  clock.schedule_message(clock.now() + cfg.flush_delay, self,
                         caf::make_mailbox_element(self, caf::make_message_id(),
                                                   {}, atom::flush_v));
}

nlohmann::json process_core::stats(const std::string& process) {
  std::lock_guard<std::mutex> guard{mtx};
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

} // namespace mesh
