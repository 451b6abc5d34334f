#include "actors/cluster/ingress/peer_ingress_serve.hpp"

#include <memory>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "protocol/status.hpp"
#include "protocol/messaging/type_ids.hpp"

namespace mesh {

namespace {

using self_ptr = peer_ingress_actor::pointer;

// Adds one answer to the outbox; leaves what waits first when the answer
// would take the message past its byte bound, and leaves at the count
// bound. send_or_schedule() decides about the rest.
void add_reply(self_ptr self, const peer_ingress_config& cfg,
               ingress_serves& st, spdlog::logger& log, uint64_t tag,
               pb::ServeResponse&& r) {
  bound_reply(r, cfg.max_reply_bytes, cfg.node_id);
  auto size = r.payload().ByteSizeLong() + 64;
  st.add(tag, std::move(r), size,
         [&] { flush_serve_replies(self, cfg, st, log); });
}

// `now`: the answers leave at once (a chunk's, before the next chunk).
void send_or_schedule(self_ptr self, const peer_ingress_config& cfg,
                      ingress_serves& st, spdlog::logger& log,
                      bool now = false) {
  if (now)
    flush_serve_replies(self, cfg, st, log);
  else
    st.send_or_schedule(self,
                        [&] { flush_serve_replies(self, cfg, st, log); });
}

// The answer to a request the router could not answer (restarting, gone):
// said in Mesh's words, naming this node, so only a policy that retries
// the status sends it elsewhere.
pb::ServeResponse router_failure(const peer_ingress_config& cfg,
                                 const caf::error& err) {
  pb::ServeResponse r;
  r.mutable_status()->set_code(
    static_cast<pb::StatusCode>(to_status_code(err)));
  r.mutable_status()->set_message("node " + cfg.node_id
                                  + " failed while handling the request: "
                                  + error_text(err));
  r.set_executor_id(cfg.node_id);
  return r;
}

// Every tag answered with the router's failure.
void fail_all(self_ptr self, const peer_ingress_config& cfg,
              ingress_serves& st, spdlog::logger& log,
              const std::vector<uint64_t>& tags, const caf::error& err,
              bool now = false) {
  for (auto tag : tags)
    add_reply(self, cfg, st, log, tag, router_failure(cfg, err));
  send_or_schedule(self, cfg, st, log, now);
}

// One request alone through the router (a blocking handler's: it answers
// when its executor does). The callbacks run only while the ingress lives,
// so its state (cfg, st, log) does too.
void serve_one(self_ptr self, const peer_ingress_config& cfg,
               ingress_serves& st, spdlog::logger& log, uint64_t tag,
               pb::ServeRequest&& req) {
  self->request(cfg.router.get(), caf::infinite, std::move(req))
    .then(
      [self, &cfg, &st, &log, tag](pb::ServeResponse& r) {
        add_reply(self, cfg, st, log, tag, std::move(r));
        send_or_schedule(self, cfg, st, log);
      },
      [self, &cfg, &st, &log, tag](caf::error& err) {
        add_reply(self, cfg, st, log, tag, router_failure(cfg, err));
        send_or_schedule(self, cfg, st, log);
      });
}

// The router's answer to a whole batch: the answers it had at once, and the
// requests that need an executor, each sent on alone. Every tag of the
// batch is in exactly one of the two; one that is in neither (never, unless
// the router is broken) is answered `internal` here, so nothing waits for
// its deadline.
void batch_served(self_ptr self, const peer_ingress_config& cfg,
                  ingress_serves& st, spdlog::logger& log,
                  const std::vector<uint64_t>& tags, pb::ServeReplies& done,
                  pb::ServeBatch& rest, bool now) {
  bool whole = done.tags_size() == done.responses_size()
               && rest.tags_size() == rest.requests_size()
               && static_cast<size_t>(done.tags_size() + rest.tags_size())
                    == tags.size();
  if (!whole) {
    log.error("node {}: the router answered a batch of {} with {} + {} "
              "entries",
              cfg.node_id, tags.size(), done.tags_size(), rest.tags_size());
    fail_all(self, cfg, st, log, tags,
             make_error(status_code::internal,
                        "the router lost track of a batch"),
             now);
    return;
  }
  for (int i = 0; i < done.tags_size(); ++i)
    add_reply(self, cfg, st, log, done.tags(i),
              std::move(*done.mutable_responses(i)));
  send_or_schedule(self, cfg, st, log, now);
  for (int i = 0; i < rest.tags_size(); ++i)
    serve_one(self, cfg, st, log, rest.tags(i),
              std::move(*rest.mutable_requests(i)));
}

void serve_next_chunk(self_ptr self, const peer_ingress_config& cfg,
                      ingress_serves& st, spdlog::logger& log);

// Hands `b` to the router as one message: it answers what it can at once
// (router_serve.cpp). The tags stay here, so a router that fails still gets
// every request answered. `chunk`: the answers leave at once and the next
// waiting chunk follows.
void serve_whole(self_ptr self, const peer_ingress_config& cfg,
                 ingress_serves& st, spdlog::logger& log, pb::ServeBatch&& b,
                 bool chunk) {
  auto tags = std::make_shared<const std::vector<uint64_t>>(b.tags().begin(),
                                                           b.tags().end());
  auto next = [self, &cfg, &st, &log, chunk] {
    if (!chunk)
      return;
    st.chunk_out = false;
    serve_next_chunk(self, cfg, st, log);
  };
  self->request(cfg.router.get(), caf::infinite, atom::batch_v, std::move(b))
    .then(
      [self, &cfg, &st, &log, tags, chunk, next](pb::ServeReplies& done,
                                                  pb::ServeBatch& rest) {
        batch_served(self, cfg, st, log, *tags, done, rest, chunk);
        next();
      },
      [self, &cfg, &st, &log, tags, chunk, next](caf::error& err) {
        fail_all(self, cfg, st, log, *tags, err, chunk);
        next();
      });
}

// Queues `b` in chunks of `size`: the first keeps b's own requests, the
// others take theirs by pointer. Each remembers the link `b` came on.
void queue_chunks(ingress_serves& st, pb::ServeBatch&& b, int size) {
  auto n = b.requests_size();
  std::vector<pb::ServeRequest*> rest(
    static_cast<size_t>(std::max(0, n - size)));
  if (!rest.empty())
    b.mutable_requests()->ExtractSubrange(size, static_cast<int>(rest.size()),
                                          rest.data());
  // A deque keeps references to its elements as it grows.
  auto& first = st.chunks.emplace_back(queued_chunk{std::move(b), st.link});
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i % static_cast<size_t>(size) == 0)
      st.chunks.emplace_back(queued_chunk{pb::ServeBatch{}, st.link});
    auto& part = st.chunks.back().batch;
    part.mutable_requests()->AddAllocated(rest[i]);
    part.add_tags(first.batch.tags(size + static_cast<int>(i)));
  }
  first.batch.mutable_tags()->Truncate(std::min(n, size));
}

// The next waiting chunk to the router, unless one is there. A chunk whose
// data link has closed is dropped: the peer failed its requests when the
// link went (link_down), and running them now would only repeat work the
// caller was told failed.
void serve_next_chunk(self_ptr self, const peer_ingress_config& cfg,
                      ingress_serves& st, spdlog::logger& log) {
  while (!st.chunk_out && !st.chunks.empty()) {
    auto next = std::move(st.chunks.front());
    st.chunks.pop_front();
    if (next.link && !next.link->alive())
      continue;
    st.chunk_out = true;
    serve_whole(self, cfg, st, log, std::move(next.batch), true);
  }
}

} // namespace

void bound_reply(pb::ServeResponse& r, size_t max, const std::string& node) {
  auto size = r.payload().ByteSizeLong();
  if (max == 0 || size <= max)
    return;
  r.clear_payload();
  r.mutable_status()->set_code(pb::INTERNAL);
  r.mutable_status()->set_message(
    "the reply from node " + node + " is " + std::to_string(size)
    + " bytes, above limits.max_payload_bytes (" + std::to_string(max)
    + "): a handler must not answer more than a request may carry");
}

void serve_batch(self_ptr self, const peer_ingress_config& cfg,
                 ingress_serves& st, spdlog::logger& log, pb::ServeBatch& b) {
  if (b.requests_size() != b.tags_size()) {
    if (st.dropped++ % 1000 < 3)
      log.warn("peer {} sent a batch of {} requests with {} tags: dropped",
               cfg.peer_id, b.requests_size(), b.tags_size());
    return;
  }
  if (b.tags_size() == 0)
    return;
  auto size = cfg.serve_chunk;
  // Every batch is counted, cut or not, so the gauge follows the load.
  bool shared = size > 0 && cfg.serve_chunk_adaptive
                && st.cpu.batch(st.link && st.link->same_host()
                                && sent_from_this_cpu(b.sender_cpu()));
  if (size <= 0 || (!st.chunk_out && (b.tags_size() <= size || shared))) {
    serve_whole(self, cfg, st, log, std::move(b), false);
    return;
  }
  // Behind chunks still waiting: in order, as one chunk when shared.
  int chunk = shared ? b.tags_size() : size;
  queue_chunks(st, std::move(b), chunk);
  serve_next_chunk(self, cfg, st, log);
}

void flush_serve_replies(self_ptr self, const peer_ingress_config& cfg,
                         ingress_serves& st, spdlog::logger& log) {
  if (st.replies.tags_size() == 0)
    return;
  auto replies = st.take();
  if (st.link) {
    auto size = replies.ByteSizeLong();
    if (st.link->send(frame_kind::reply, size, [&replies](uint8_t* p) {
          replies.SerializeWithCachedSizesToArray(p);
        }))
      return;
    st.link = nullptr; // failed: BASP from now on, until the next one
    // (the peer fails what it sent on the link when it sees it close)
  }
  if (cfg.reply_to)
    self->send(cfg.reply_to, atom::batch_v, std::move(replies));
  else if (st.no_way_back++ % 1000 == 0)
    // Armed without the peer's ingress (only a test builds one so: the
    // handshake refuses a peer without it); the origin's deadline answers.
    log.warn("node {} has no way back to peer {}: {} answers dropped",
             cfg.node_id, cfg.peer_id, replies.tags_size());
}

} // namespace mesh
