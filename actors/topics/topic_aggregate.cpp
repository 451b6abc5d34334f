// The end of a publish: the parts' outcomes become one result (the worst
// part decides the status, errors are joined and sanitised), then the
// outputs are published in turn, at most max_output_depth levels deep.

#include <algorithm>

#include "actors/topics/topic_dispatcher_state.hpp"
#include "telemetry/redact.hpp"
#include "topics/dispatch_status.hpp"

namespace mesh {

// The outputs of one publish, published one after the other.
struct topic_dispatcher_state::output_walk {
  pb::PublishResponse result;
  std::shared_ptr<const pb::PublishRequest> req;
  std::vector<std::string> outputs;
  size_t next = 0;
  /// The caller's deadline for the whole publish (max: none).
  caf::actor_clock::time_point until;
  std::function<void(pb::PublishResponse)> finish;
  bool looping = false; ///< publish_outputs' loop is on the stack
  bool resumed = false; ///< the output in flight finished during the loop
};

namespace {

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

} // namespace

namespace {

template <class Outcomes>
std::string worst_status(const Outcomes& parts) {
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

} // namespace

std::string aggregate_status(const std::vector<pb::DispatcherOutcome>& parts) {
  return worst_status(parts);
}

std::string aggregate_status(
  const google::protobuf::RepeatedPtrField<pb::DispatcherOutcome>& parts) {
  return worst_status(parts);
}

void topic_dispatcher_state::complete(uint64_t seq) {
  auto node = runs.extract(seq);
  auto& run = node.mapped();
  if (draining && runs.empty()) {
    for (auto& rp : drained)
      rp.deliver(caf::ok_atom::value);
    drained.clear();
  }
  const auto& req = *run.req;
  pb::PublishResponse r;
  r.set_dispatch_id(req.dispatch_id());
  r.set_topic(req.topic());
  r.set_trace_id(req.trace_id());
  std::vector<std::string> outputs;
  std::string errors;
  for (auto& slot : run.slots)
    for (auto& o : slot.outcomes) {
      for (const auto& t : o.outputs())
        outputs.push_back(t);
      if (!o.error().empty())
        errors += (errors.empty() ? "" : "; ") + o.dispatcher_id()
                  + (o.dispatcher_id().empty() ? "" : " on ") + o.node_id()
                  + ": " + o.error();
      *r.add_dispatchers() = std::move(o);
    }
  // (A peer's part only reports outputs: the origin publishes and caps.)
  if (!req.local_only() && outputs.size() > max_outputs_per_publish) {
    // Each output is a publish of its own: a dispatcher's answer must not
    // make one publish unbounded.
    pb::DispatcherOutcome o;
    o.set_node_id(cfg.node_id);
    o.set_status("skipped");
    o.set_error(std::to_string(outputs.size()) + " output topics, more than "
                "the limit of " + std::to_string(max_outputs_per_publish)
                + " per publish; not published: '"
                + outputs[max_outputs_per_publish] + "' and the "
                + std::to_string(outputs.size() - max_outputs_per_publish - 1)
                + " after it");
    outputs.resize(max_outputs_per_publish);
    errors += (errors.empty() ? "" : "; ") + o.error();
    *r.add_dispatchers() = std::move(o);
  }
  r.set_status(aggregate_status(r.dispatchers()));
  // Most publishes have no error: no regex pass over an empty text.
  if (!errors.empty())
    r.set_error_message(redact_secrets(errors, 4096));
  for (const auto& t : outputs)
    r.add_outputs(t);
  r.set_output_count(static_cast<uint32_t>(outputs.size()));
  r.set_duration_us(micros_since(run.started));
  if (req.local_only() || outputs.empty()) {
    run.finish(std::move(r));
    return;
  }
  auto w = std::make_shared<output_walk>();
  w->result = std::move(r);
  w->req = run.req;
  w->outputs = std::move(outputs);
  w->until = run.until;
  w->finish = std::move(run.finish);
  publish_outputs(std::move(w));
}

namespace {

void append_error(pb::PublishResponse& r, const std::string& text) {
  r.set_error_message(r.error_message()
                      + (r.error_message().empty() ? "" : "; ") + text);
}

// One output's result joins the publish's.
void merge_output(pb::PublishResponse& result, pb::PublishResponse& sub) {
  // An output nobody listens to is fine; anything else joins the result.
  if (sub.status() == "no_dispatcher")
    return;
  for (auto& o : *sub.mutable_dispatchers())
    *result.add_dispatchers() = std::move(o);
  for (const auto& t : sub.outputs())
    result.add_outputs(t);
  result.set_output_count(static_cast<uint32_t>(result.outputs_size()));
  if (!sub.error_message().empty())
    append_error(result,
                 "output '" + sub.topic() + "': " + sub.error_message());
  // An output found invalid is the dispatcher's error (the worst there is).
  result.set_status(sub.status() == "invalid_message"
                      ? to_string(dispatch_status::dispatcher_error)
                      : aggregate_status(result.dispatchers()));
}

} // namespace

void topic_dispatcher_state::skip_outputs(output_walk& w, const char* status,
                                          const std::string& why) {
  std::string dropped;
  for (size_t i = w.next; i < w.outputs.size(); ++i)
    dropped += (dropped.empty() ? "'" : ", '") + w.outputs[i] + "'";
  pb::DispatcherOutcome o;
  o.set_node_id(cfg.node_id);
  o.set_status(status);
  o.set_error(why + "; not published: " + dropped);
  append_error(w.result, o.error());
  *w.result.add_dispatchers() = std::move(o);
  if (severity(status) > severity(w.result.status()))
    w.result.set_status(status);
  w.next = w.outputs.size();
  w.finish(std::move(w.result));
}

void topic_dispatcher_state::publish_outputs(std::shared_ptr<output_walk> w) {
  const auto& req = *w->req;
  if (w->next < w->outputs.size() && req.depth() + 1 > cfg.max_output_depth)
    // A cycle of outputs ends here: say so, publish nothing more.
    return skip_outputs(*w, "skipped", "output depth limit ("
                        + std::to_string(cfg.max_output_depth) + ") reached");
  // With the caller's deadline, each output gets what is left of it.
  auto left_ms = [&w, this] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             w->until - self->clock().now())
      .count();
  };
  bool bounded = w->until != w->until.max();
  if (w->next < w->outputs.size() && bounded && left_ms() < 1)
    return skip_outputs(*w, "timeout", "the caller's deadline passed");
  w->looping = true;
  while (w->next < w->outputs.size()) {
    pb::PublishRequest child = req;
    if (bounded)
      child.set_deadline_ms(
        static_cast<uint32_t>(std::max<int64_t>(1, left_ms())));
    child.set_topic(w->outputs[w->next]);
    child.set_depth(req.depth() + 1);
    child.set_dispatch_id(req.dispatch_id() + "."
                          + std::to_string(w->next + 1));
    child.set_local_only(false);
    w->resumed = false;
    publish(std::move(child), [this, w](pb::PublishResponse sub) {
      merge_output(w->result, sub);
      ++w->next;
      if (w->looping)
        w->resumed = true; // the loop goes on
      else
        publish_outputs(w);
    });
    if (!w->resumed) { // the output finishes later, and resumes the walk
      w->looping = false;
      return;
    }
  }
  w->looping = false;
  w->finish(std::move(w->result));
}

} // namespace mesh
