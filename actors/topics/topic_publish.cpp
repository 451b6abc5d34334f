// The publish flow of the topic_dispatcher: validate, fan out to local
// dispatchers and to peers with matching routes, and collect each part's
// outcome (deadlines, lost peers). topic_aggregate.cpp turns the parts into
// one result and publishes the outputs. Every publish calls `finish` once.

#include <algorithm>

#include "protocol/request_checks.hpp"
#include "actors/topics/topic_dispatcher_state.hpp"
#include "protocol/messaging/local_types.hpp"
#include "protocol/json/json_payload.hpp"
#include "protocol/service_key.hpp"
#include "telemetry/redact.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh {

namespace {

// What a function dispatcher's run sends back to the actor.
nlohmann::json run_function(const topic_handler& fn, const topic_message& m) {
  try {
    auto outputs = fn(m);
    return {{"status", "success"}, {"outputs", outputs}};
  } catch (const std::exception& e) {
    return {{"status", "dispatcher_error"}, {"error", redact_secrets(e.what())}};
  } catch (...) {
    return {{"status", "dispatcher_error"},
            {"error", "the dispatcher threw a non-standard exception"}};
  }
}

} // namespace

bool topic_dispatcher_state::publish(
  pb::PublishRequest&& req, std::function<void(pb::PublishResponse)> finish,
  bool at_once_only) {
  auto started = std::chrono::steady_clock::now();
  // Ids the caller chose go into logs and headers: bad ones are replaced
  // (and refused below), so the refusal does not carry them back.
  auto bad_id = check_trace_id(req.trace_id());
  // (An output's id is its parent's and ".N": checked at the top only.)
  if (auto bad = req.depth() == 0
                   ? check_trace_id(req.dispatch_id(), "dispatch_id")
                   : std::string{};
      !bad.empty() || req.dispatch_id().empty()) {
    req.set_dispatch_id(make_trace_id());
    bad_id = bad_id.empty() ? std::move(bad) : bad_id;
  }
  if (!bad_id.empty() || req.trace_id().empty())
    req.set_trace_id(make_trace_id());
  // As for a dispatch: the console, HTTP and workflows ask (trace), other
  // publishes are sampled by trace id, the same answer on every node.
  bool traced = tracing(cfg.traces)
                && (req.trace() || cfg.traces->sampled(req.trace_id()));
  bool top = req.depth() == 0 && !req.local_only();
  if (top) {
    // Count the top-level publish and log its end, whatever happens below.
    finish = [this, finish = std::move(finish), started,
              traced](pb::PublishResponse r) {
      ++publishes;
      if (r.status() == "success")
        ++publishes_ok;
      r.set_duration_us(micros_since(started));
      log->info("trace={} dispatch={} topic={} status={} dispatchers={} "
                "outputs={}",
                r.trace_id(), r.dispatch_id(), r.topic(), r.status(),
                r.dispatchers_size(), r.output_count());
      if (traced)
        cfg.traces->record(
          r.trace_id(), "publish",
          "publish of " + r.topic() + " ended " + r.status() + ": "
            + std::to_string(r.dispatchers_size()) + " dispatcher run(s), "
            + std::to_string(r.output_count()) + " output(s)",
          {{"topic", r.topic()},
           {"dispatch_id", r.dispatch_id()},
           {"status", r.status()},
           {"error", r.error_message()}},
          std::chrono::microseconds{r.duration_us()});
      finish(std::move(r));
    };
  }
  // A publish that runs nothing ends here, with its ids and the reason.
  auto refuse = [&req, &finish](dispatch_status status, std::string why) {
    pb::PublishResponse r;
    r.set_dispatch_id(req.dispatch_id());
    r.set_topic(req.topic());
    r.set_trace_id(req.trace_id());
    r.set_status(to_string(status));
    r.set_error_message(std::move(why));
    finish(std::move(r));
  };
  if (draining) {
    refuse(dispatch_status::publish_failed,
           "node " + cfg.node_id + " is shutting down");
    return true;
  }
  auto category = parse_message_category(req.category());
  auto invalid = std::move(bad_id); // a bad id comes first
  if (invalid.empty())
    invalid = category ? check_topic(req.topic())
                       : "category must be event, command or intent, not '"
                           + req.category() + "'";
  if (!invalid.empty()) {
    refuse(dispatch_status::invalid_message, std::move(invalid));
    return true;
  }
  auto local = table->match(req.topic(), *category, req.message_type());
  if (at_once_only && (!req.local_only()
                       || std::any_of(local.begin(), local.end(),
                                      [this](const std::string& id) {
                                        return specs.at(id).info.kind
                                               != "record";
                                      })))
    return false;
  std::vector<const peer_route*> remote_parts;
  if (!req.local_only() && peers)
    for (const auto& [node, entry] : remote)
      if (entry.any_route(req.topic(), *category, req.message_type()))
        if (auto* p = peers->find(node);
            p != nullptr && is_routable(p->state) && p->peer)
          remote_parts.push_back(p);
  if (traced)
    trace_fanout(req, local, remote_parts);
  if (local.empty() && remote_parts.empty()) {
    refuse(dispatch_status::no_dispatcher,
           "no dispatcher for " + req.category() + " '" + req.topic() + "'"
             + (req.message_type().empty()
                  ? std::string{}
                  : " of type '" + req.message_type() + "'"));
    return true;
  }
  auto seq = next_publish_seq();
  auto& run = runs[seq];
  run.seq = seq;
  run.started = started;
  run.category = *category;
  run.req = std::make_shared<const pb::PublishRequest>(std::move(req));
  run.finish = std::move(finish);
  run.local_slots = local.size();
  auto slots = local.size() + remote_parts.size();
  run.slots.resize(slots);
  set_deadlines(run); // topic_deadlines.cpp
  run.pending = slots + 1; // +1: parts that finish at once cannot end it early
  for (size_t i = 0; i < local.size(); ++i)
    run_local(run, i, specs.at(local[i]));
  for (size_t j = 0; j < remote_parts.size(); ++j) {
    run.slots[local.size() + j].peer = remote_parts[j]->id;
    run_remote(run, local.size() + j, *remote_parts[j]);
  }
  if (--runs[seq].pending == 0)
    complete(seq);
  return true;
}

void topic_dispatcher_state::trace_fanout(
  const pb::PublishRequest& req, const std::vector<std::string>& local,
  const std::vector<const peer_route*>& remote_parts) {
  auto nodes = nlohmann::json::array();
  std::string names;
  for (const auto* p : remote_parts) {
    nodes.push_back(p->id);
    names += (names.empty() ? "" : ", ") + p->id;
  }
  std::string here;
  for (const auto& id : local)
    here += (here.empty() ? "" : ", ") + id;
  auto line = req.category() + " " + req.topic() + " (depth "
              + std::to_string(req.depth()) + "): ";
  if (local.empty() && remote_parts.empty())
    line += "no dispatcher matches";
  else
    line += std::to_string(local.size()) + " local dispatcher(s) [" + here
            + "], " + std::to_string(remote_parts.size()) + " peer(s) ["
            + names + "]";
  cfg.traces->record(req.trace_id(), "fanout", std::move(line),
                     {{"topic", req.topic()},
                      {"category", req.category()},
                      {"message_type", req.message_type()},
                      {"depth", req.depth()},
                      {"local_only", req.local_only()},
                      {"dispatchers", local},
                      {"nodes", std::move(nodes)}});
}

const std::shared_ptr<const topic_message>&
topic_dispatcher_state::message_of(publish_run& run) {
  if (!run.msg) {
    const auto& req = *run.req;
    run.msg = std::make_shared<const topic_message>(topic_message{
      req.topic(), run.category, req.message_type(),
      value_to_json(req.payload()), req.trace_id(), req.dispatch_id()});
  }
  return run.msg;
}

void topic_dispatcher_state::run_local(publish_run& run, size_t slot,
                                       const dispatcher_spec& spec) {
  auto seq = run.seq;
  const auto& kind = spec.info.kind;
  auto& preset = run.slots[slot].outcomes.emplace_back();
  preset.set_dispatcher_id(spec.info.id);
  preset.set_node_id(cfg.node_id);
  if (kind == "record") {
    auto& list = records[spec.info.id];
    list.push_back(run.req);
    while (list.size() > spec.keep)
      list.pop_front();
    pb::DispatcherOutcome ok;
    ok.set_status("success");
    part_done(seq, slot, std::move(ok));
    return;
  }
  // Every other kind may take time: bound it by the dispatcher timeout.
  arm_sweep(run.slots[slot].deadline);
  if (kind == "function") {
    // A job that waited past its part's deadline does not run: the sweep
    // has answered that part, and a stuck pool must not pile up work.
    runner->submit([fn = spec.fn, msg = message_of(run),
                    me = caf::actor_cast<caf::actor>(self), seq, slot,
                    clock = &self->home_system().clock(),
                    deadline = run.slots[slot].deadline] {
      if (clock->now() < deadline)
        caf::anon_send(me, atom::job_done_v, seq, slot,
                       run_function(fn, *msg));
    });
  } else if (kind == "actor") {
    self->request(spec.actor, caf::infinite, atom::publish_v, *run.req)
      .then(
        [this, seq, slot](nlohmann::json& outputs) {
          pb::DispatcherOutcome o;
          o.set_status("success");
          for (const auto& t : outputs)
            if (t.is_string())
              o.add_outputs(t.get<std::string>());
          part_done(seq, slot, std::move(o));
        },
        [this, seq, slot](caf::error& err) { part_failed(seq, slot, err); });
  } else { // forward
    pb::DispatchRequest dr;
    to_service_ref(*parse_service_path(spec.forward_to), *dr.mutable_ref());
    const auto& msg = *message_of(run);
    *dr.mutable_payload() = json_to_any(msg.payload);
    dr.set_trace_id(msg.trace_id);
    dr.set_deadline_ms(static_cast<uint32_t>(run.budget.count()));
    self->request(cfg.router.get(), caf::infinite, std::move(dr))
      .then(
        [this, seq, slot, to = spec.forward_to](pb::DispatchResponse& r) {
          pb::DispatcherOutcome o;
          auto code = status_code_from_int(r.status().code())
                        .value_or(status_code::internal);
          if (code == status_code::ok) {
            o.set_status("success");
          } else {
            o.set_status(code == status_code::deadline_exceeded
                           ? "timeout"
                           : "dispatcher_error");
            o.set_error("forward to " + to + " (handled by "
                        + (r.handled_by().empty() ? "-" : r.handled_by())
                        + "): " + to_string(code) + ": "
                        + redact_secrets(r.status().message()));
          }
          part_done(seq, slot, std::move(o));
        },
        [this, seq, slot](caf::error& err) { part_failed(seq, slot, err); });
  }
}

void topic_dispatcher_state::part_failed(uint64_t seq, size_t slot,
                                         const caf::error& err) {
  pb::DispatcherOutcome o;
  o.set_status("dispatcher_error");
  o.set_error(redact_secrets(error_text(err)));
  part_done(seq, slot, std::move(o));
}

void topic_dispatcher_state::run_remote(publish_run& run, size_t slot,
                                        const peer_route& peer) {
  auto seq = run.seq;
  arm_sweep(run.slots[slot].deadline);
  run.slots[slot].ingress = peer.peer.address();
  if (slot < (size_t{1} << publish_tag_slot_bits)) {
    enqueue(peer, seq, slot, *run.req); // topic_outbox.cpp
    return;
  }
  // More parts than a tag can number (never in practice): one request.
  auto copy = *run.req;
  for_peer(copy);
  auto node = peer.id;
  self->request(peer.peer, caf::infinite, atom::publish_v, std::move(copy))
    .then(
      [this, seq, slot](pb::PublishResponse& r) {
        std::vector<pb::DispatcherOutcome> list(r.dispatchers().begin(),
                                                r.dispatchers().end());
        part_done(seq, slot, std::move(list)); // no_dispatcher: nothing ran
      },
      [this, seq, slot, node](caf::error& err) {
        pb::DispatcherOutcome o;
        o.set_node_id(node);
        o.set_status("publish_failed");
        o.set_error("node " + node + ": " + redact_secrets(error_text(err)));
        part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(o)});
      });
}

void topic_dispatcher_state::part_done(uint64_t seq, size_t slot,
                                       pb::DispatcherOutcome outcome) {
  auto i = runs.find(seq);
  if (i == runs.end() || i->second.slots[slot].done)
    return; // late: timed out already
  auto& run = i->second;
  // The outcome takes the ids the slot was given at the start.
  auto& preset = run.slots[slot].outcomes.at(0);
  outcome.mutable_dispatcher_id()->swap(*preset.mutable_dispatcher_id());
  outcome.mutable_node_id()->swap(*preset.mutable_node_id());
  outcome.set_duration_us(micros_since(run.started));
  record_metrics(outcome);
  preset = std::move(outcome);
  slot_done(run, slot);
}

void topic_dispatcher_state::part_done(
  uint64_t seq, size_t slot, std::vector<pb::DispatcherOutcome> outcomes) {
  auto i = runs.find(seq);
  if (i == runs.end() || i->second.slots[slot].done)
    return;
  i->second.slots[slot].outcomes = std::move(outcomes);
  slot_done(i->second, slot);
}

void topic_dispatcher_state::slot_done(publish_run& run, size_t slot) {
  run.slots[slot].done = true;
  if (--run.pending == 0)
    complete(run.seq);
}

void topic_dispatcher_state::record_metrics(
  const pb::DispatcherOutcome& outcome) {
  auto& m = metrics[outcome.dispatcher_id()];
  ++m.executions;
  if (outcome.status() != "success")
    ++m.errors;
  if (outcome.status() == "timeout")
    ++m.timeouts;
  m.latency.record(outcome.duration_us() * 1000);
}

} // namespace mesh
