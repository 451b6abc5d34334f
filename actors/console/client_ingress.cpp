#include "actors/console/client_ingress.hpp"

#include <set>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actor_names.hpp"
#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"
#include "telemetry/log.hpp"

namespace mesh {

namespace {

/// A batch's sender, as this actor sees it: whatever takes the answers.
using batch_client = caf::typed_actor<
  caf::reacts_to<atom::batch, pb::DispatchReplies>>;

/// The answers waiting for one client, sent as one DispatchReplies.
struct client_outbox {
  caf::strong_actor_ptr to;
  pb::DispatchReplies replies;
  size_t bytes = 0; ///< payload bytes in `replies`, roughly
};

struct client_ingress_state {
  static inline const char* name = actor_names::client_ingress;
  std::string node_id;
  actor_slot<router_actor> router;
  caf::actor console;
  bool open = false;
  std::set<caf::node_id> admitted;
  std::shared_ptr<spdlog::logger> log;
  /// Keyed by the client's control block; `to` keeps it alive.
  std::unordered_map<const caf::actor_control_block*, client_outbox> outboxes;
  bool flush_pending = false; ///< a flush message is in our mailbox
};

using self_ptr = client_ingress_actor::stateful_pointer<client_ingress_state>;

pb::DispatchResponse status_response(status_code code, std::string message,
                                     std::string trace_id = {}) {
  pb::DispatchResponse r;
  r.mutable_status()->set_code(static_cast<pb::StatusCode>(code));
  r.mutable_status()->set_message(std::move(message));
  r.set_trace_id(std::move(trace_id));
  return r;
}

bool admitted(self_ptr self, const caf::strong_actor_ptr& src) {
  auto& st = self->state;
  return src && (st.open || st.admitted.count(src->node()) > 0);
}

std::string refusal_text(self_ptr self) {
  return "node " + self->state.node_id
         + " takes requests only from clients that showed the console token";
}

void send_replies(self_ptr self, client_outbox& box) {
  self->send(caf::actor_cast<batch_client>(box.to), atom::batch_v,
             std::move(box.replies));
  box.replies = pb::DispatchReplies{};
  box.bytes = 0;
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_pending = false;
  for (auto& [key, box] : st.outboxes)
    if (box.replies.tags_size() > 0)
      send_replies(self, box);
  st.outboxes.clear();
}

/// Queues one answer for `to`; sent by the next flush (or at once at the
/// bound).
void answer(self_ptr self, const caf::strong_actor_ptr& to, uint64_t tag,
            pb::DispatchResponse&& r) {
  auto& st = self->state;
  auto& box = st.outboxes[to.get()];
  if (!box.to)
    box.to = to;
  // One transport message stays within its bound (as the peer ingress
  // does): a large answer leaves what waits first, then travels alone.
  auto size = r.payload().ByteSizeLong() + 64;
  if (box.replies.tags_size() > 0 && box.bytes + size > kMaxReplyBytesPerMessage)
    send_replies(self, box);
  *box.replies.add_responses() = std::move(r);
  box.replies.add_tags(tag);
  box.bytes += size;
  if (box.replies.tags_size() >= kMaxRepliesPerMessage)
    send_replies(self, box);
  if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, atom::flush_v);
  }
}

/// One answer per tag, sent at once: the batch is refused as a whole.
void refuse_batch(self_ptr self, const caf::strong_actor_ptr& to,
                  const pb::DispatchBatch& batch, status_code code,
                  const std::string& why) {
  pb::DispatchReplies replies;
  for (auto tag : batch.tags()) {
    *replies.add_responses() = status_response(code, why);
    replies.add_tags(tag);
  }
  self->send(caf::actor_cast<batch_client>(to), atom::batch_v,
             std::move(replies));
}

void run_batch(self_ptr self, pb::DispatchBatch& batch) {
  auto& st = self->state;
  const auto& src = self->current_sender();
  if (!src) {
    st.log->warn("dropped a batch of {} requests from an anonymous sender: "
                 "nobody to answer",
                 batch.requests_size());
    return;
  }
  if (!admitted(self, src)) {
    refuse_batch(self, src, batch, status_code::permission_denied,
                 refusal_text(self));
    return;
  }
  if (batch.requests_size() != batch.tags_size()) {
    auto why = "a batch needs one tag per request: "
               + std::to_string(batch.requests_size()) + " requests, "
               + std::to_string(batch.tags_size()) + " tags";
    if (batch.tags_size() == 0) {
      st.log->warn("dropped a batch from {}: {}", caf::to_string(src->node()),
                   why);
      return;
    }
    refuse_batch(self, src, batch, status_code::invalid_argument, why);
    return;
  }
  auto router = st.router.get(); // one lock for the whole batch
  auto& reqs = *batch.mutable_requests();
  for (int i = 0; i < reqs.size(); ++i) {
    auto tag = batch.tags(i);
    auto trace_id = reqs[i].trace_id();
    self->request(router, caf::infinite, std::move(reqs[i]))
      .then(
        [self, src, tag](pb::DispatchResponse& r) {
          answer(self, src, tag, std::move(r));
        },
        [self, src, tag, trace_id](caf::error& err) mutable {
          answer(self, src, tag,
                 status_response(to_status_code(err), error_text(err),
                                 std::move(trace_id)));
        });
  }
}

client_ingress_actor::behavior_type client_ingress_behavior(
  self_ptr self, std::string node_id, actor_slot<router_actor> router,
  caf::actor console, bool open) {
  auto& st = self->state;
  st.node_id = std::move(node_id);
  st.router = std::move(router);
  st.console = std::move(console);
  st.open = open;
  st.log = log::get("console");
  self->monitor(st.console);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  auto refuse = [self] {
    return make_error(status_code::permission_denied, refusal_text(self));
  };
  self->set_default_handler(
    [refuse](caf::scheduled_actor*, caf::message_view&)
      -> caf::result<caf::message> { return refuse(); });
  return {
    [self, refuse](pb::DispatchRequest& req)
      -> caf::result<pb::DispatchResponse> {
      if (!admitted(self, self->current_sender()))
        return refuse();
      auto rp = self->make_response_promise<pb::DispatchResponse>();
      self->request(self->state.router.get(), caf::infinite, std::move(req))
        .then(
          [rp](pb::DispatchResponse& r) mutable { rp.deliver(std::move(r)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::batch, pb::DispatchBatch& batch) { run_batch(self, batch); },
    [self](atom::add, caf::node_id& who) {
      if (self->current_sender()
          == caf::actor_cast<caf::strong_actor_ptr>(self->state.console))
        self->state.admitted.insert(who);
    },
    [self](atom::flush) {
      // Only our own: a client's flush would just send answers early.
      if (self->current_sender() == self->ctrl())
        flush(self);
    },
  };
}

} // namespace

client_ingress_actor
spawn_client_ingress(caf::actor_system& sys, std::string node_id,
                                actor_slot<router_actor> router, caf::actor console,
                                bool open) {
  return sys.spawn(client_ingress_behavior, std::move(node_id),
                   std::move(router), std::move(console), open);
}

} // namespace mesh
