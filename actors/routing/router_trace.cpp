// The request router's decision records (telemetry/trace_ring.hpp): what
// `meshctl trace ID` shows of a request on each node it crossed. Every
// function here is called only when the node keeps traces, so none of the
// strings below is built otherwise.

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"

namespace mesh::detail {

namespace {

std::chrono::microseconds micros(router_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

nlohmann::json attempts_json(const pipeline_call& call) {
  auto out = nlohmann::json::array();
  for (const auto& a : call.attempts)
    out.push_back({{"node", a.node},
                   {"status", a.out ? "pending" : to_string(a.status)},
                   {"duration_us", a.duration.count()},
                   {"hedged", a.hedged},
                   {"probe", a.probe},
                   {"abandoned", a.abandoned}});
  return out;
}

nlohmann::json skipped_json(const pipeline_call& call) {
  auto out = nlohmann::json::array();
  for (const auto& [node, reason] : call.skipped)
    out.push_back({{"node", node}, {"reason", reason}});
  return out;
}

} // namespace

void router_state::trace_pipeline(const pipeline_call& call) {
  if (!traced(call))
    return;
  const auto& pol = *call.pol;
  auto ms = call.request.deadline_ms();
  std::string line = "policy " + pol.name + " (timeout "
                     + std::to_string(ms) + " ms, at most "
                     + std::to_string(call.max_attempts) + " attempts"
                     + (call.hedging ? ", hedged" : "") + ")";
  if (!call.hooks_run.empty()) {
    line += "; pre-hooks";
    for (const auto& h : call.hooks_run)
      line += " " + h;
  }
  cfg.traces->record(call.request.trace_id(), "pipeline", std::move(line),
                     {{"path", path_of(call.request.ref())},
                      {"policy", pol.name},
                      {"timeout_ms", ms},
                      {"max_attempts", call.max_attempts},
                      {"hedging", call.hedging},
                      {"hooks", call.hooks_run},
                      {"origin", call.request.origin_node()}});
}

void router_state::trace_route(const pipeline_call& call,
                               const std::string& node, const char* why) {
  if (!traced(call))
    return;
  const auto& ref = call.request.ref();
  std::string reason = why;
  nlohmann::json detail{{"path", path_of(ref)}, {"chosen", node},
                        {"reason", reason}};
  std::string line = "runs on " + node + ": ";
  if (reason == "local") {
    line += "a local handler comes first";
  } else if (reason == "target") {
    line += "the caller named it";
  } else {
    // The candidates: every peer that serves the method, with its state
    // and what the outlier detector said of it.
    auto candidates = nlohmann::json::array();
    std::string names;
    if (const auto* serving = peers->serving(
          {ref.namespace_(), ref.service(), ref.method()}))
      for (const auto* p : *serving) {
        candidates.push_back({{"node", p->id}, {"state", to_string(p->state)}});
        names += (names.empty() ? "" : ", ") + p->id;
      }
    detail["candidates"] = std::move(candidates);
    detail["balancer"] = balancer->name();
    detail["skipped"] = skipped_json(call);
    if (reason == "probe")
      line += "the probe of a peer whose ejection is over";
    else
      line += std::string{"chosen by "} + balancer->name() + " among ["
              + names + "]";
    for (const auto& [peer, skip] : call.skipped)
      line += "; skipped " + peer + " (" + skip + ")";
  }
  cfg.traces->record(call.request.trace_id(), "route", std::move(line),
                     std::move(detail));
}

void router_state::trace_attempt(const pipeline_call& call, const char* step) {
  if (!traced(call) || call.attempts.empty())
    return;
  const auto& a = call.attempts.back();
  std::string s = step;
  std::string line;
  nlohmann::json detail{{"node", a.node},
                        {"attempt", call.attempts.size()},
                        {"max_attempts", call.max_attempts},
                        {"probe", a.probe},
                        {"skipped", skipped_json(call)}};
  if (s == "retry") {
    auto n = call.attempts.size();
    auto before = n >= 2 ? call.attempts[n - 2].node : std::string{"-"};
    line = "retry " + std::to_string(n) + " of "
           + std::to_string(call.max_attempts) + " on " + a.node + " after "
           + before + " answered " + to_string(call.last_code);
    detail["previous"] = before;
    detail["after"] = to_string(call.last_code);
    detail["reason"] = call.last_message;
  } else {
    auto waited = micros(a.started - call.started);
    line = "hedge to " + a.node + " after "
           + std::to_string(waited.count() / 1000) + " ms without an answer";
    detail["after_us"] = waited.count();
  }
  cfg.traces->record(call.request.trace_id(), std::move(s), std::move(line),
                     std::move(detail));
}

void router_state::trace_result(const pipeline_call& call,
                                const pb::DispatchResponse& r) {
  if (!traced(call))
    return;
  auto code = static_cast<status_code>(r.status().code());
  auto took = micros(read_clock() - call.started);
  std::string line = to_string(code);
  if (!r.handled_by().empty())
    line += " from " + r.handled_by();
  line += " after " + std::to_string(call.attempts.size()) + " attempt"
          + (call.attempts.size() == 1 ? "" : "s");
  if (code != status_code::ok && !r.status().message().empty())
    line += ": " + r.status().message();
  cfg.traces->record(call.request.trace_id(), "result", std::move(line),
                     {{"status", to_string(code)},
                      {"handled_by", r.handled_by()},
                      {"attempts", attempts_json(call)},
                      {"skipped", skipped_json(call)},
                      {"hooks", call.hooks_run},
                      {"dry_run", call.request.directives().dry_run()}},
                     took);
}

void router_state::trace_serve(const pb::ServeRequest& req, bool inline_call) {
  if (!req.traced() || !tracing(cfg.traces))
    return;
  auto path = path_of(req.ref());
  cfg.traces->record(req.trace_id(), "serve",
                     "runs " + path + " here for " + req.origin_node()
                       + (inline_call ? " (inline)" : " (handler executor)"),
                     {{"path", path},
                      {"origin", req.origin_node()},
                      {"hops", req.hops()},
                      {"deadline_ms", req.deadline_ms()}});
}

void router_state::trace_inline(const std::string& trace_id,
                                const pb::ServiceRef& ref, int32_t code,
                                std::chrono::microseconds took) {
  if (!tracing(cfg.traces))
    return;
  auto status = status_code_from_int(code).value_or(status_code::internal);
  cfg.traces->record(trace_id, "execute",
                     "handler " + path_of(ref) + " answered "
                       + to_string(status) + " (inline)",
                     {{"path", path_of(ref)}, {"status", to_string(status)}},
                     took);
}

} // namespace mesh::detail
