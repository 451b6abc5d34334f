// The publish flow of the topic_dispatcher: validate, fan out to local
// dispatchers and to peers with matching routes, aggregate, then publish
// the outputs in turn (bounded depth). Every publish calls `finish` once.

#include <algorithm>

#include "actors/request_checks.hpp"
#include "actors/topic_dispatcher_state.hpp"
#include "protocol/local_types.hpp"
#include "protocol/json_payload.hpp"
#include "protocol/service_key.hpp"
#include "telemetry/redact.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh {

namespace {

using clock_type = std::chrono::steady_clock;

uint64_t micros_since(clock_type::time_point t) {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t)
      .count());
}

int severity(std::string_view status) {
  auto s = parse_dispatch_status(status).value_or(dispatch_status::dispatcher_error);
  switch (s) {
    case dispatch_status::dispatcher_error:
    case dispatch_status::invalid_message:
      return 4;
    case dispatch_status::timeout:
      return 3;
    case dispatch_status::publish_failed:
      return 2;
    default:
      return 0;
  }
}

nlohmann::json message_json(const topic_message& m) {
  return {{"topic", m.topic},
          {"category", to_string(m.category)},
          {"message_type", m.message_type},
          {"payload", m.payload},
          {"trace_id", m.trace_id},
          {"dispatch_id", m.dispatch_id}};
}

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

std::string aggregate_status(const std::vector<pb::DispatcherOutcome>& parts) {
  if (parts.empty())
    return to_string(dispatch_status::no_dispatcher);
  const pb::DispatcherOutcome* worst = nullptr;
  for (const auto& p : parts)
    if (severity(p.status()) > 0
        && (worst == nullptr || severity(p.status()) > severity(worst->status())))
      worst = &p;
  if (worst == nullptr)
    return to_string(dispatch_status::success);
  // An invalid output topic is the dispatcher's error, not the caller's.
  if (worst->status() == "invalid_message")
    return to_string(dispatch_status::dispatcher_error);
  return worst->status();
}

void topic_dispatcher_state::publish(
  pb::PublishRequest req, std::function<void(pb::PublishResponse)> finish) {
  auto started = clock_type::now();
  if (req.trace_id().empty())
    req.set_trace_id(make_trace_id());
  if (req.dispatch_id().empty())
    req.set_dispatch_id(make_trace_id());
  bool top = req.depth() == 0 && !req.local_only();
  if (top) {
    // Count the top-level publish and log its end, whatever happens below.
    finish = [this, finish = std::move(finish), started](pb::PublishResponse r) {
      ++publishes;
      if (r.status() == "success")
        ++publishes_ok;
      r.set_duration_us(micros_since(started));
      log->info("trace={} dispatch={} topic={} status={} dispatchers={} "
                "outputs={}",
                r.trace_id(), r.dispatch_id(), r.topic(), r.status(),
                r.dispatchers_size(), r.output_count());
      finish(std::move(r));
    };
  }
  pb::PublishResponse early;
  early.set_dispatch_id(req.dispatch_id());
  early.set_topic(req.topic());
  early.set_trace_id(req.trace_id());
  auto category = parse_message_category(req.category());
  std::string invalid;
  if (!category)
    invalid = "category must be event, command or intent, not '"
              + req.category() + "'";
  else
    invalid = check_topic(req.topic());
  if (!invalid.empty()) {
    early.set_status(to_string(dispatch_status::invalid_message));
    early.set_error_message(invalid);
    finish(std::move(early));
    return;
  }
  auto local = table->match(req.topic(), *category, req.message_type());
  std::vector<const peer_route*> remote_parts;
  if (!req.local_only() && peers)
    for (const auto& [node, entry] : remote)
      if (entry.table.any_route(req.topic(), *category, req.message_type()))
        if (auto* p = peers->find(node);
            p != nullptr && is_routable(p->state) && p->topics)
          remote_parts.push_back(p);
  if (local.empty() && remote_parts.empty()) {
    early.set_status(to_string(dispatch_status::no_dispatcher));
    early.set_error_message("no dispatcher for " + req.category() + " '"
                            + req.topic() + "'"
                            + (req.message_type().empty()
                                 ? std::string{}
                                 : " of type '" + req.message_type() + "'"));
    finish(std::move(early));
    return;
  }
  auto seq = ++next_seq;
  auto& run = runs[seq];
  run.seq = seq;
  run.started = started;
  run.msg = {req.topic(), *category, req.message_type(),
             value_to_json(req.payload()), req.trace_id(), req.dispatch_id()};
  run.req = std::move(req);
  run.finish = std::move(finish);
  run.local_slots = local.size();
  auto slots = local.size() + remote_parts.size();
  run.parts.resize(slots);
  run.done.assign(slots, false);
  run.peer_of_slot.assign(slots, "");
  auto now = self->clock().now();
  run.deadline.assign(slots, now + cfg.dispatcher_timeout);
  // A peer bounds its own dispatchers; the margin covers the network.
  for (size_t k = local.size(); k < slots; ++k)
    run.deadline[k] += std::chrono::seconds{1};
  run.pending = slots + 1; // +1: parts that finish at once cannot end it early
  for (size_t i = 0; i < local.size(); ++i)
    run_local(run, i, specs.at(local[i]));
  for (size_t j = 0; j < remote_parts.size(); ++j) {
    run.peer_of_slot[local.size() + j] = remote_parts[j]->id;
    run_remote(run, local.size() + j, *remote_parts[j]);
  }
  if (--runs[seq].pending == 0)
    complete(seq);
}

void topic_dispatcher_state::run_local(publish_run& run, size_t slot,
                                       const dispatcher_spec& spec) {
  auto seq = run.seq;
  const auto& kind = spec.info.kind;
  run.parts[slot] = {pb::DispatcherOutcome{}};
  run.parts[slot][0].set_dispatcher_id(spec.info.id);
  run.parts[slot][0].set_node_id(cfg.node_id);
  pb::DispatcherOutcome ok;
  ok.set_status("success");
  if (kind == "record") {
    auto& list = records[spec.info.id];
    list.push_back(message_json(run.msg));
    while (list.size() > spec.keep)
      list.pop_front();
    part_done(seq, slot, std::move(ok));
    return;
  }
  // Every other kind may take time: bound it by the dispatcher timeout.
  arm_sweep(run.deadline[slot]);
  if (kind == "function") {
    runner->submit([fn = spec.fn, msg = run.msg, me = caf::actor{self}, seq,
                    slot] {
      caf::anon_send(me, atom::job_done_v, seq, slot, run_function(fn, msg));
    });
  } else if (kind == "actor") {
    self->request(spec.actor, caf::infinite, atom::publish_v, run.req)
      .then(
        [this, seq, slot](nlohmann::json& outputs) {
          pb::DispatcherOutcome o;
          o.set_status("success");
          for (const auto& t : outputs)
            if (t.is_string())
              o.add_outputs(t.get<std::string>());
          part_done(seq, slot, std::move(o));
        },
        [this, seq, slot](caf::error& err) {
          pb::DispatcherOutcome o;
          o.set_status("dispatcher_error");
          o.set_error(redact_secrets(error_text(err)));
          part_done(seq, slot, std::move(o));
        });
  } else { // forward
    pb::DispatchRequest dr;
    to_service_ref(*parse_service_path(spec.forward_to), *dr.mutable_ref());
    *dr.mutable_payload() = json_to_any(run.msg.payload);
    dr.set_trace_id(run.msg.trace_id);
    dr.set_deadline_ms(static_cast<uint32_t>(cfg.dispatcher_timeout.count()));
    self->request(cfg.router, caf::infinite, std::move(dr))
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
        [this, seq, slot](caf::error& err) {
          pb::DispatcherOutcome o;
          o.set_status("dispatcher_error");
          o.set_error(redact_secrets(error_text(err)));
          part_done(seq, slot, std::move(o));
        });
  }
}

void topic_dispatcher_state::run_remote(publish_run& run, size_t slot,
                                        const peer_route& peer) {
  auto seq = run.seq;
  auto copy = run.req;
  copy.set_local_only(true);
  auto node = peer.id;
  arm_sweep(run.deadline[slot]);
  self->request(peer.topics, caf::infinite, atom::publish_v, std::move(copy))
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

void topic_dispatcher_state::fail_parts_of_lost_peers() {
  std::vector<std::pair<uint64_t, size_t>> lost;
  for (const auto& [seq, run] : runs)
    for (size_t slot = run.local_slots; slot < run.parts.size(); ++slot) {
      if (run.done[slot])
        continue;
      auto* p = peers ? peers->find(run.peer_of_slot[slot]) : nullptr;
      if (p == nullptr || !is_routable(p->state))
        lost.emplace_back(seq, slot);
    }
  for (auto [seq, slot] : lost) {
    auto node = runs[seq].peer_of_slot[slot];
    pb::DispatcherOutcome o;
    o.set_node_id(node);
    o.set_status("publish_failed");
    o.set_error("node " + node + " went down during the publish");
    part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(o)});
  }
}

void topic_dispatcher_state::arm_sweep(caf::actor_clock::time_point when) {
  if (sweep_pending && sweep_at <= when)
    return;
  sweep_pending = true;
  sweep_at = when;
  auto delay = std::max(when - self->clock().now(),
                        caf::actor_clock::duration_type{0});
  self->delayed_send(self, delay, atom::sweep_v);
}

void topic_dispatcher_state::sweep() {
  sweep_pending = false;
  auto now = self->clock().now();
  auto next = caf::actor_clock::time_point::max();
  std::vector<std::pair<uint64_t, size_t>> overdue;
  for (const auto& [seq, run] : runs)
    for (size_t slot = 0; slot < run.parts.size(); ++slot) {
      if (run.done[slot])
        continue;
      if (run.deadline[slot] <= now)
        overdue.emplace_back(seq, slot);
      else
        next = std::min(next, run.deadline[slot]);
    }
  for (auto [seq, slot] : overdue) {
    auto& run = runs[seq];
    pb::DispatcherOutcome o;
    if (slot < run.local_slots) {
      // A late answer is discarded (part_done ignores finished slots).
      o.set_status("timeout");
      o.set_error("no answer within "
                  + std::to_string(cfg.dispatcher_timeout.count()) + " ms");
      part_done(seq, slot, std::move(o));
    } else {
      auto node = run.peer_of_slot[slot];
      o.set_node_id(node);
      o.set_status("timeout");
      o.set_error("node " + node + " did not answer in time");
      part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(o)});
    }
  }
  if (next != caf::actor_clock::time_point::max())
    arm_sweep(next);
}

void topic_dispatcher_state::part_done(uint64_t seq, size_t slot,
                                       pb::DispatcherOutcome outcome) {
  auto i = runs.find(seq);
  if (i == runs.end() || i->second.done[slot])
    return; // late: timed out already
  auto& preset = i->second.parts[slot].at(0);
  outcome.set_dispatcher_id(preset.dispatcher_id());
  outcome.set_node_id(preset.node_id());
  outcome.set_duration_us(micros_since(i->second.started));
  record_metrics(outcome);
  part_done(seq, slot, std::vector<pb::DispatcherOutcome>{std::move(outcome)});
}

void topic_dispatcher_state::part_done(
  uint64_t seq, size_t slot, std::vector<pb::DispatcherOutcome> outcomes) {
  auto i = runs.find(seq);
  if (i == runs.end() || i->second.done[slot])
    return;
  auto& run = i->second;
  run.parts[slot] = std::move(outcomes);
  run.done[slot] = true;
  if (--run.pending == 0)
    complete(seq);
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

void topic_dispatcher_state::complete(uint64_t seq) {
  auto node = runs.extract(seq);
  auto& run = node.mapped();
  pb::PublishResponse r;
  r.set_dispatch_id(run.req.dispatch_id());
  r.set_topic(run.req.topic());
  r.set_trace_id(run.req.trace_id());
  std::vector<pb::DispatcherOutcome> all;
  std::vector<std::string> outputs;
  std::string errors;
  for (auto& slot : run.parts)
    for (auto& o : slot) {
      for (const auto& t : o.outputs())
        outputs.push_back(t);
      if (!o.error().empty())
        errors += (errors.empty() ? "" : "; ") + o.dispatcher_id()
                  + (o.dispatcher_id().empty() ? "" : " on ") + o.node_id()
                  + ": " + o.error();
      all.push_back(std::move(o));
    }
  r.set_status(aggregate_status(all));
  r.set_error_message(redact_secrets(errors, 4096));
  for (auto& o : all)
    *r.add_dispatchers() = std::move(o);
  for (const auto& t : outputs)
    r.add_outputs(t);
  r.set_output_count(static_cast<uint32_t>(outputs.size()));
  r.set_duration_us(micros_since(run.started));
  if (run.req.local_only() || outputs.empty()) {
    run.finish(std::move(r));
    return;
  }
  publish_outputs(std::move(r), run.req, std::move(outputs), 0,
                  std::move(run.finish));
}

void topic_dispatcher_state::publish_outputs(
  pb::PublishResponse result, const pb::PublishRequest& req,
  std::vector<std::string> outputs, size_t next,
  std::function<void(pb::PublishResponse)> finish) {
  if (next == outputs.size()) {
    finish(std::move(result));
    return;
  }
  auto append_error = [](pb::PublishResponse& r, const std::string& text) {
    r.set_error_message(r.error_message()
                        + (r.error_message().empty() ? "" : "; ") + text);
  };
  if (req.depth() + 1 > cfg.max_output_depth) {
    // A cycle of outputs ends here: say so, publish nothing more.
    std::string dropped;
    for (size_t i = next; i < outputs.size(); ++i)
      dropped += (dropped.empty() ? "'" : ", '") + outputs[i] + "'";
    pb::DispatcherOutcome o;
    o.set_node_id(cfg.node_id);
    o.set_status("skipped");
    o.set_error("output depth limit (" + std::to_string(cfg.max_output_depth)
                + ") reached; not published: " + dropped);
    append_error(result, o.error());
    *result.add_dispatchers() = std::move(o);
    finish(std::move(result));
    return;
  }
  pb::PublishRequest child = req;
  child.set_topic(outputs[next]);
  child.set_depth(req.depth() + 1);
  child.set_dispatch_id(req.dispatch_id() + "." + std::to_string(next + 1));
  child.set_local_only(false);
  publish(std::move(child), [this, result = std::move(result), req,
                             outputs = std::move(outputs), next, append_error,
                             finish = std::move(finish)](
                              pb::PublishResponse sub) mutable {
    // An output nobody listens to is fine; anything else joins the result.
    if (sub.status() != "no_dispatcher") {
      for (auto& o : *sub.mutable_dispatchers())
        *result.add_dispatchers() = std::move(o);
      for (const auto& t : sub.outputs())
        result.add_outputs(t);
      result.set_output_count(static_cast<uint32_t>(result.outputs_size()));
      if (!sub.error_message().empty())
        append_error(result, "output '" + sub.topic() + "': "
                               + sub.error_message());
      std::vector<pb::DispatcherOutcome> parts(result.dispatchers().begin(),
                                               result.dispatchers().end());
      if (sub.status() == "invalid_message") {
        pb::DispatcherOutcome bad;
        bad.set_status("invalid_message");
        parts.push_back(bad);
      }
      result.set_status(aggregate_status(parts));
    }
    publish_outputs(std::move(result), req, std::move(outputs), next + 1,
                    std::move(finish));
  });
}

} // namespace mesh
