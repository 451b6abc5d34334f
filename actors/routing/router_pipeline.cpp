// The request router's pipeline steps around execute (seed 003): directives,
// policy, context, rate limit, pre-hooks, dry runs, post-hooks and the
// explanation attached to every reply; and the reports of the policies and
// breakers.

#include <sstream>

#include <caf/event_based_actor.hpp>

#include "actors/routing/router_state.hpp"
#include "protocol/messaging/local_types.hpp"

namespace mesh::detail {

namespace {

/// Hooks of a policy at one stage, minus those the caller skips.
template <class F>
void each_hook(const pipeline_memory& mem, const pipeline_call& call,
               hook_stage stage, F&& f) {
  const auto& skip = call.request.directives().skip_hooks();
  for (const auto& name : call.pol->hooks) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end())
      continue;
    auto hook = mem.hooks->find(name);
    if (hook != nullptr && hook->stage != stage)
      continue;
    if (!f(name, hook))
      return;
  }
}

hook_call make_hook_call(const pipeline_call& call, const std::string& node,
                         hook_stage stage) {
  hook_call hc;
  hc.stage = stage;
  hc.trace_id = call.request.trace_id();
  hc.path = path_of(call.request.ref());
  hc.caller = call.request.origin_node();
  hc.node = node;
  hc.policy = call.pol->name;
  for (const auto& [k, v] : call.request.context())
    hc.context.emplace(k, v);
  return hc;
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

} // namespace

caf::result<pb::DispatchResponse>
router_state::run_pipeline(pb::DispatchRequest& req) {
  auto& mem = *cfg.pipeline;
  pipeline_call call;
  call.started = now();
  // `policies` stays put while this runs; a call that outlives it (execute
  // at a peer) takes a reference in start().
  const auto& ref = req.ref();
  call.pol = &policies->match(ref.namespace_(), ref.service(), ref.method());
  call.explain = !mem.bypass;
  call.traced = call.explain && tracing(cfg.traces)
                && (req.directives().trace()
                    || cfg.traces->sampled(req.trace_id()));
  const auto& pol = *call.pol;
  const auto& d = req.directives();
  // Directives, then the caller's deadline, then the policy's; all capped.
  uint32_t ms = d.timeout_ms() > 0 ? d.timeout_ms() : req.deadline_ms();
  if (ms == 0)
    ms = static_cast<uint32_t>(pol.timeout ? pol.timeout->count()
                                           : cfg.default_deadline.count());
  ms = std::min<uint32_t>(ms, static_cast<uint32_t>(cfg.max_deadline.count()));
  req.set_deadline_ms(ms);
  call.deadline = call.started + std::chrono::milliseconds{ms};
  call.max_attempts = pol.retry.max_attempts;
  if (d.max_attempts() > 0)
    call.max_attempts = std::min(call.max_attempts, d.max_attempts());
  call.hedging = d.hedge() == pb::Directives::HEDGE_ON
                 || (d.hedge() == pb::Directives::HEDGE_POLICY
                     && pol.hedging.enabled);
  call.request = std::move(req);
  if (mem.bypass)
    return execute(std::move(call));
  if (pol.rate_limit.per_second > 0
      && !limiters[pol.name].try_take(pol.rate_limit, call.started)) {
    ++rate_limited;
    std::ostringstream rate;
    rate << pol.rate_limit.per_second; // 500, 0.05: as configured
    auto r = reject({status_code::overloaded,
                     "the rate limit of policy '" + pol.name + "' ("
                       + rate.str() + " requests/s) is reached; retry later"},
                    call.request.trace_id());
    complete(call, r);
    return r;
  }
  if (auto p = run_pre_hooks(call)) {
    ++hook_rejected;
    auto r = reject(p, call.request.trace_id());
    complete(call, r);
    return r;
  }
  trace_pipeline(call);
  if (call.request.directives().dry_run())
    return dry_run(call);
  return execute(std::move(call));
}

request_problem router_state::run_pre_hooks(pipeline_call& call) {
  request_problem problem;
  if (call.pol->hooks.empty())
    return problem;
  auto& mem = *cfg.pipeline;
  std::optional<hook_call> hc;
  each_hook(mem, call, hook_stage::pre,
            [&](const std::string& name, const hook_entry_ptr& hook) {
              if (hook == nullptr) {
                // Fail closed: a hook that guards must not vanish silently.
                problem = {status_code::internal,
                           "policy '" + call.pol->name + "' names hook '"
                             + name + "', which no plug-in registered"};
                return false;
              }
              if (!hc)
                hc = make_hook_call(call, cfg.node_id, hook_stage::pre);
              call.hooks_run.push_back(name);
              auto verdict = hook->run(*hc);
              if (!verdict.ok()) {
                problem = {verdict.code, verdict.message.empty()
                                           ? "rejected by hook " + name
                                           : verdict.message};
                return false;
              }
              return true;
            });
  if (hc) {
    auto& ctx = *call.request.mutable_context();
    for (auto& [k, v] : hc->context)
      ctx[k] = v;
  }
  return problem;
}

void router_state::complete(pipeline_call& call, pb::DispatchResponse& r) {
  if (!call.explain)
    return;
  if (!call.pol->hooks.empty()) {
    auto& mem = *cfg.pipeline;
    std::optional<hook_call> hc;
    each_hook(mem, call, hook_stage::post,
              [&](const std::string& name, const hook_entry_ptr& hook) {
                if (hook == nullptr)
                  return true; // reported by the pre stage
                if (!hc) {
                  hc = make_hook_call(call, cfg.node_id, hook_stage::post);
                  hc->status = static_cast<status_code>(r.status().code());
                  hc->message = r.status().message();
                  hc->handled_by = r.handled_by();
                  hc->attempts = static_cast<uint32_t>(call.attempts.size());
                  hc->duration = std::chrono::duration_cast<
                    std::chrono::microseconds>(read_clock() - call.started);
                }
                call.hooks_run.push_back(name);
                auto verdict = hook->run(*hc);
                if (!verdict.ok())
                  log->warn("trace={} post-hook {} failed: {}",
                            call.request.trace_id(), name, verdict.message);
                return true;
              });
  }
  trace_result(call, r);
  // A plain success (one attempt, nothing skipped, no hook) carries no
  // explanation unless asked for: it would only say "ran on handled_by".
  if (call.request.directives().explain() || r.status().code() != pb::OK
      || call.attempts.size() > 1 || !call.skipped.empty()
      || !call.hooks_run.empty() || call.request.directives().dry_run()
      || (!call.attempts.empty() && call.attempts.front().probe))
    explain(call, r);
}

void router_state::explain(const pipeline_call& call,
                           pb::DispatchResponse& r) const {
  auto& e = *r.mutable_explain();
  e.set_policy(call.pol->name);
  for (const auto& h : call.hooks_run)
    e.add_hooks(h);
  for (const auto& a : call.attempts) {
    auto& x = *e.add_attempts();
    x.set_node(a.node);
    x.set_status(static_cast<pb::StatusCode>(a.status));
    x.set_duration_us(static_cast<uint64_t>(a.duration.count()));
    x.set_hedged(a.hedged);
    x.set_probe(a.probe);
    x.set_abandoned(a.abandoned);
  }
  for (const auto& [node, reason] : call.skipped) {
    auto& s = *e.add_skipped();
    s.set_node(node);
    s.set_reason(reason);
  }
}

pb::DispatchResponse router_state::dry_run(pipeline_call& call) {
  ++dry_runs;
  const auto& req = call.request;
  const auto& target = req.target_node_id();
  std::string decision;
  request_problem problem;
  const handler_route* found = nullptr;
  if (target == cfg.node_id
      || (target.empty() && (found = local_handler(req)) != nullptr)) {
    if (local_route(req, problem, found) != nullptr)
      decision = "would run on " + cfg.node_id
                 + ": a local handler comes first";
  } else if (!target.empty()) {
    auto* peer = peers->find(target);
    if (peer == nullptr || !is_routable(peer->state))
      problem = {status_code::unavailable,
                 "target node '" + target + "' is not a routable member"};
    else if (!peer->shares(req.ref().namespace_()))
      problem = {status_code::not_found, "target node '" + target
                                           + "' does not share namespace '"
                                           + req.ref().namespace_() + "'"};
    else
      decision = "would run on " + target + ": the caller named it";
  } else if (auto chosen = choose(call, false); chosen.peer != nullptr) {
    decision = "would run on " + chosen.peer->id + ": "
               + (chosen.probe ? std::string{"the probe of a peer whose "
                                             "ejection is over"}
                               : "chosen by " + std::string{balancer->name()}
                                   + " among the peers serving "
                                   + path_of(req.ref()));
  } else {
    problem = no_route(req);
  }
  pb::DispatchResponse r;
  r.set_trace_id(req.trace_id());
  if (problem) {
    r.mutable_status()->set_code(static_cast<pb::StatusCode>(problem.code));
    r.mutable_status()->set_message(problem.message);
  } else {
    r.mutable_status()->set_code(pb::OK);
    r.mutable_status()->set_message("dry run: " + decision);
  }
  decision += "; policy " + call.pol->name + " (timeout "
              + millis(std::chrono::milliseconds{req.deadline_ms()})
              + ", at most " + std::to_string(call.max_attempts)
              + " attempts" + (call.hedging ? ", hedged" : "") + ")";
  complete(call, r);
  r.mutable_explain()->set_dry_run(true);
  r.mutable_explain()->set_decision(decision);
  return r;
}

void router_state::set_policies(std::shared_ptr<const policy_set> set) {
  policies = std::move(set);
  cfg.pipeline->set(policies);
}

nlohmann::json router_state::policies_json(const std::string& name,
                                           request_problem& problem) const {
  auto missing_hooks = [this](const policy& p) {
    auto out = nlohmann::json::array();
    for (const auto& h : p.hooks)
      if (cfg.pipeline->hooks->find(h) == nullptr)
        out.push_back(h);
    return out;
  };
  auto row = [&](const policy& p) {
    auto j = p.to_json();
    j["missing_hooks"] = missing_hooks(p);
    if (auto i = budgets.find(p.name); i != budgets.end())
      j["budget"] = {{"active", i->second.active()},
                     {"retries_in_flight", i->second.retries_in_flight()},
                     {"allowed", i->second.allowed(p.retry_budget)},
                     {"exhausted", i->second.exhausted()}};
    if (auto i = limiters.find(p.name); i != limiters.end())
      j["rate_limited"] = i->second.refused();
    return j;
  };
  if (!name.empty()) {
    if (auto* p = policies->find(name))
      return row(*p);
    if (name == "default")
      return row(policies->default_policy());
    problem = {status_code::not_found, "no policy named '" + name + "'"};
    return {};
  }
  auto list = nlohmann::json::array();
  bool default_listed = false;
  for (const auto& p : policies->list()) {
    default_listed = default_listed || p.name == "default";
    list.push_back(row(p));
  }
  if (!default_listed)
    list.push_back(row(policies->default_policy()));
  return list;
}

nlohmann::json router_state::breakers_json() const {
  auto t = now();
  auto out = nlohmann::json::array();
  for (const auto& r : outliers.snapshot(t)) {
    nlohmann::json row{{"node", r.peer},
                       {"service", r.service},
                       {"state", to_string(r.state)},
                       {"consecutive_failures", r.consecutive_failures},
                       {"times_ejected", r.times_ejected},
                       {"failures", r.failures},
                       {"successes", r.successes}};
    if (r.state == breaker_state::ejected)
      row["ejected_for_ms"]
        = std::chrono::duration_cast<std::chrono::milliseconds>(
            r.ejected_until - t)
            .count();
    out.push_back(std::move(row));
  }
  return out;
}

nlohmann::json router_state::reload_policies() {
  auto& mem = *cfg.pipeline;
  if (!mem.load)
    return {{"ok", false},
            {"errors", {"node " + cfg.node_id
                        + " has no config file to reload policies from"}},
            {"policies", policies->list().size()}};
  policy_set fresh;
  std::vector<std::string> errors;
  if (!mem.load(fresh, errors)) {
    log->warn("policies not reloaded (keeping the last good set): {}",
              errors.empty() ? "" : errors.front());
    return {{"ok", false},
            {"errors", errors},
            {"policies", policies->list().size()}};
  }
  set_policies(std::make_shared<const policy_set>(std::move(fresh)));
  log->info("policies reloaded: {}", policies->list().size());
  return {{"ok", true},
          {"errors", nlohmann::json::array()},
          {"policies", policies->list().size()}};
}

} // namespace mesh::detail
